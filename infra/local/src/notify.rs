//! The local stand-in for the DynamoDB stream: a transaction hook that tells listeners what
//! each committed transaction put, so the in-process dispatcher sends right after a commit.

use std::sync::Arc;
use titolare_store::backend::{Item, ItemBackend, Write};
use titolare_store::probes::{Hooked, StoreWrite, WriteHook};
use tokio::sync::broadcast;

pub struct CommitFeed(broadcast::Sender<Arc<Vec<Item>>>);

pub type Notifying = Hooked<CommitFeed>;

pub fn notifying(inner: Arc<dyn ItemBackend>) -> Notifying {
    Hooked::around(inner, CommitFeed(broadcast::channel(1024).0))
}

impl CommitFeed {
    /// The items every later commit puts, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Vec<Item>>> {
        self.0.subscribe()
    }
}

impl WriteHook for CommitFeed {
    fn after(&self, write: StoreWrite<'_>) {
        let StoreWrite::Transaction(writes) = write else {
            return;
        };
        if self.0.receiver_count() == 0 {
            return;
        }
        let put: Vec<Item> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } => Some(item.clone()),
                _ => None,
            })
            .collect();
        // No listener left is not an error: nothing had to hear it.
        let _ = self.0.send(Arc::new(put));
    }
}
