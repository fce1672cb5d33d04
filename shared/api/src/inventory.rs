//! The ingest path of the provider's inventory: one message as the queue (or the demo seed)
//! delivers it, parsed and applied under the version rule (docs/rules.md, "The inventory").

use titolare_domain::inventory::{InventoryError, InventoryMessage, Verdict};
use titolare_domain::ports::{InventoryWriter, StoreError};

/// How often a message is read and applied again after a concurrent write to its entity.
const ATTEMPTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The message can never apply: it goes to the dead-letter queue with this reason.
    #[error("invalid inventory message: {0}")]
    Invalid(#[from] InventoryError),
    /// The store failed or kept conflicting: the message is delivered again.
    #[error("store: {0}")]
    Store(StoreError),
}

/// Parses one message and applies it to the replica.
pub async fn ingest<S: InventoryWriter + ?Sized>(
    store: &S,
    text: &str,
) -> Result<Verdict, IngestError> {
    let message = InventoryMessage::parse(text)?;
    apply(store, &message).await
}

/// Applies a parsed message, reading again after a conflict.
pub async fn apply<S: InventoryWriter + ?Sized>(
    store: &S,
    message: &InventoryMessage,
) -> Result<Verdict, IngestError> {
    let mut last = StoreError::Conflict;
    for _ in 0..ATTEMPTS {
        match store.apply_inventory(message).await {
            Err(StoreError::Conflict) => last = StoreError::Conflict,
            Err(e) => return Err(IngestError::Store(e)),
            Ok(verdict) => return Ok(verdict),
        }
    }
    Err(IngestError::Store(last))
}
