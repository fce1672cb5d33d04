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
use titolare_store::TableStore;
use titolare_store::clock::OffsetClock;
use titolare_store_embedded::EmbeddedBackend;

pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
}

/// Opens the store under `data_dir`, seeds the demo accounts once, and starts serving.
pub async fn serve(config: Config) -> Result<Server, Box<dyn std::error::Error>> {
    let backend = Arc::new(
        EmbeddedBackend::open(&config.data_dir.join("titolare.redb")).map_err(|e| e.to_string())?,
    );
    let clock = Arc::new(OffsetClock::default());
    let store = Arc::new(TableStore::new(backend, clock.clone()));
    seed::demo(&*store).await.map_err(|e| e.to_string())?;
    let login = DevLogin::open(&config.data_dir)?;
    let app = App::new(Services {
        store,
        clock: clock.clone(),
    });
    Ok(serve_with(app, login, clock, config.port).await?)
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
