//! `cargo run -p titolare-local`: every route on 127.0.0.1:3000 (or `PORT`), data in an
//! embedded database under `.titolare/` (or `TITOLARE_DATA_DIR`), demo data seeded.

use std::path::PathBuf;
use titolare_local::{Config, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    titolare_local::init_tracing();
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, not {p:?}"))?,
        Err(_) => 3000,
    };
    let data_dir = std::env::var_os("TITOLARE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".titolare"));
    let config = Config {
        rules: titolare_api::config::rules_from_env()?,
        platform: titolare_local::platform::Mode::from_env()?,
        ..Config::new(port, data_dir)
    };
    let server = serve(config).await?;
    tracing::info!(address = %server.address, "local gateway listening: POST /dev/login {{\"username\":\"demo\"}} for a token");
    eprintln!(
        "Titolare locale su http://{}  (token: curl -s -X POST http://{}/dev/login -d '{{\"username\":\"demo\"}}')",
        server.address, server.address
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
