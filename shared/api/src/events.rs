//! Domain events: the event of an ended request, published from its outcome marker
//! (docs/platform.md, "Domain events").

use crate::platform::PlatformError;
use titolare_domain::events::TransferEnded;
use titolare_domain::ports::{EventBus, TransferReader};
use titolare_domain::transfer::TransferId;

/// Publishes the event of request `id` if it has ended; whether it did.
pub async fn publish_ended<S: TransferReader + ?Sized>(
    store: &S,
    bus: &dyn EventBus,
    id: &TransferId,
) -> Result<bool, PlatformError> {
    let Some(read) = store.transfer(id).await? else {
        return Ok(false);
    };
    let Some(event) = TransferEnded::of(&read.value) else {
        return Ok(false);
    };
    bus.publish(&event)
        .await
        .map_err(PlatformError::Unavailable)?;
    Ok(true)
}
