//! The local gateway: what API Gateway and the JWT authorizer do in AWS, done in one
//! process over the embedded store, so the same handlers run on a laptop.

mod dev;
mod gateway;
pub mod seed;

pub use dev::DevLogin;
pub use gateway::{Server, serve_with};

use std::path::PathBuf;
use std::sync::Arc;
use titolare_api::{App, Services};
use titolare_domain::otp::CodePolicy;
use titolare_domain::secret::SecretKey;
use titolare_messaging::stream::outbox_key;
use titolare_messaging::{Dispatcher, LocalOutbox};
use titolare_store::clock::OffsetClock;
use titolare_store::{TableStore, keys};
use titolare_store_embedded::EmbeddedBackend;

pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
}

/// Opens the store under `data_dir`, seeds the demo accounts once, starts the in-process
/// dispatcher and serves.
pub async fn serve(config: Config) -> Result<Server, Box<dyn std::error::Error>> {
    let backend = Arc::new(
        EmbeddedBackend::open(&config.data_dir.join("titolare.redb")).map_err(|e| e.to_string())?,
    );
    let clock = Arc::new(OffsetClock::default());
    let store = Arc::new(TableStore::new(backend.clone(), clock.clone()));
    seed::demo(&*store).await.map_err(|e| e.to_string())?;
    let login = DevLogin::open(&config.data_dir)?;
    let key = dev::secret_key(&config.data_dir)?;
    let outbox = Arc::new(LocalOutbox::default());
    let dispatcher = Dispatcher::new(store.clone(), outbox.clone(), key.clone(), clock.clone());
    let dispatch_task = spawn_dispatcher(&backend, dispatcher);
    let app = App::new(Services {
        store: store.clone(),
        clock: clock.clone(),
        key: Some(key.clone()),
        codes: CodePolicy::default(),
    });
    let local = Local {
        app,
        login,
        clock,
        outbox,
        store,
        key,
        dispatch_task,
    };
    Ok(serve_with(local, config.port).await?)
}

/// Everything the gateway serves with.
pub struct Local {
    pub app: App,
    pub login: DevLogin,
    pub clock: Arc<OffsetClock>,
    pub outbox: Arc<LocalOutbox>,
    pub store: Arc<TableStore>,
    pub key: SecretKey,
    dispatch_task: tokio::task::JoinHandle<()>,
}

impl Drop for Local {
    fn drop(&mut self) {
        self.dispatch_task.abort();
    }
}

/// Sends each outbox record right after the commit that wrote it, as the DynamoDB stream
/// and the dispatch function do in AWS.
fn spawn_dispatcher(
    backend: &EmbeddedBackend,
    dispatcher: Dispatcher,
) -> tokio::task::JoinHandle<()> {
    let mut commits = backend.subscribe();
    tokio::spawn(async move {
        loop {
            let items = match commits.recv().await {
                Ok(items) => items,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "dispatcher lagged behind the commits");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            for item in items
                .iter()
                .filter(|i| i.kind == keys::OUTBOX_KIND && i.version == 0)
            {
                if let Some((transfer, message)) = outbox_key(&item.pk, &item.sk)
                    && let Err(e) = dispatcher.dispatch(&transfer, &message).await
                {
                    tracing::warn!(message = %message, error = %e, "local dispatch failed");
                }
            }
        }
    })
}

pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .init();
}
