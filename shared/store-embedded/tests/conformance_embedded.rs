//! The store conformance suite against the embedded (redb) store.

use std::sync::Arc;
use titolare_store::ItemBackend;
use titolare_store_embedded::EmbeddedBackend;

async fn backend() -> Arc<dyn ItemBackend> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("titolare-conformance-{}", std::process::id()));
    let path = dir.join(format!("store-{n}.redb"));
    // A process id comes back (a test is a process under nextest): clear what an earlier
    // process of the same id left.
    let _ = std::fs::remove_file(&path);
    Arc::new(EmbeddedBackend::open(&path).unwrap())
}

titolare_store::conformance_tests!(backend());
