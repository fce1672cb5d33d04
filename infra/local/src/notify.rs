//! The local stand-in for the DynamoDB stream: a backend wrapper that tells listeners what
//! each committed transaction put, so the in-process dispatcher sends right after a commit.

use async_trait::async_trait;
use std::sync::Arc;
use titolare_store::backend::{BackendError, Count, Item, ItemBackend, Query, QueryPage, Write};
use tokio::sync::broadcast;

pub struct Notifying {
    inner: Arc<dyn ItemBackend>,
    commits: broadcast::Sender<Arc<Vec<Item>>>,
}

impl Notifying {
    pub fn new(inner: Arc<dyn ItemBackend>) -> Self {
        Self {
            inner,
            commits: broadcast::channel(1024).0,
        }
    }

    /// The items every later commit puts, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Vec<Item>>> {
        self.commits.subscribe()
    }
}

#[async_trait]
impl ItemBackend for Notifying {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError> {
        self.inner.get(pk, sk, now).await
    }

    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError> {
        self.inner.query(query, now).await
    }

    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError> {
        self.inner.count(pk, sk_prefix, now).await
    }

    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        self.inner.transact(writes, now).await?;
        if self.commits.receiver_count() > 0 {
            let put: Vec<Item> = writes
                .iter()
                .filter_map(|w| match w {
                    Write::Put { item, .. } => Some(item.clone()),
                    _ => None,
                })
                .collect();
            // No listener left is not an error: nothing had to hear it.
            let _ = self.commits.send(Arc::new(put));
        }
        Ok(())
    }

    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        self.inner.next_sequence(name).await
    }
}
