//! The local stand-in for the EventBridge bus: the domain events published, listed at
//! `GET /dev/events` (docs/platform.md, "Domain events").

use async_trait::async_trait;
use std::sync::Mutex;
use titolare_domain::events::TransferEnded;
use titolare_domain::ports::EventBus;

#[derive(Default)]
pub struct LocalBus {
    events: Mutex<Vec<serde_json::Value>>,
}

impl LocalBus {
    /// Every event published, oldest first, as the bus delivers it.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, event: &TransferEnded) -> Result<(), String> {
        let envelope = serde_json::json!({
            "source": titolare_domain::events::SOURCE,
            "detail-type": event.detail_type(),
            "detail": event,
        });
        self.events
            .lock()
            .map_err(|e| e.to_string())?
            .push(envelope);
        Ok(())
    }
}
