//! `titolare-dovecot`: applies Titolare's commands to a Dovecot server (docs/platform.md).
//!
//! Dovecot: `DOVECOT_PASSWD_FILE`, `DOVECOT_CONFIG`, `DOVECOT_LAST_LOGIN_DICT`,
//! `DOVECOT_HOME_ROOT`; the journal of applied commands: `ADAPTER_JOURNAL`. Commands from the
//! local gateway at `TITOLARE_LOCAL_URL`, or from the queues `PLATFORM_QUEUE_URL` and
//! `PLATFORM_ACK_QUEUE_URL` (AWS credentials and region from the environment).
//!
//! `titolare-dovecot demo` starts a private Dovecot of its own instead (IMAP on
//! 127.0.0.1:1143, or `DOVECOT_DEMO_PORT`; files under `.titolare/dovecot`), where
//! teste1234@pec.it's password is `Vecchia-Password-2020`, and serves the local gateway at
//! `TITOLARE_LOCAL_URL` (default http://127.0.0.1:3000) until Ctrl-C.

use std::path::PathBuf;
use titolare_dovecot::server::Layout;
use titolare_dovecot::{Adapter, Dovecot, transport};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    if std::env::args().nth(1).as_deref() == Some("demo") {
        return demo().await;
    }
    let dovecot = Dovecot {
        passwd_file: PathBuf::from(env("DOVECOT_PASSWD_FILE")?),
        config: PathBuf::from(env("DOVECOT_CONFIG")?),
        last_login_dict: env("DOVECOT_LAST_LOGIN_DICT")?,
        home_root: PathBuf::from(env("DOVECOT_HOME_ROOT")?),
        journal: PathBuf::from(env("ADAPTER_JOURNAL")?),
    };
    let mut adapter = Adapter::open(dovecot).map_err(|e| format!("the journal: {e}"))?;
    if let Ok(base) = std::env::var("TITOLARE_LOCAL_URL") {
        eprintln!("titolare-dovecot: taking commands from {base}");
        transport::run_local(&mut adapter, base.trim_end_matches('/')).await
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let (commands, acks) = (env("PLATFORM_QUEUE_URL")?, env("PLATFORM_ACK_QUEUE_URL")?);
    eprintln!("titolare-dovecot: taking commands from the queue");
    transport::run_sqs(&mut adapter, &client, &commands, &acks).await
}

/// A private Dovecot with the demo's mailboxes, and the adapter serving the local gateway.
async fn demo() -> Result<(), String> {
    let port: u16 = std::env::var("DOVECOT_DEMO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1143);
    let base =
        std::env::var("TITOLARE_LOCAL_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let layout = Layout {
        dir: std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(".titolare/dovecot"),
    };
    let _ = std::fs::remove_dir_all(&layout.dir);
    let users = [
        ("teste1234@pec.it", "Vecchia-Password-2020"),
        ("fatture.testazienda@pec.it", "Vecchia-Password-2020"),
        ("marco.test@pec.it", "Vecchia-Password-2020"),
        ("demo@pec.it", "Vecchia-Password-2020"),
    ];
    layout
        .write(port, &users)
        .map_err(|e| format!("Dovecot's files (is dovecot-imapd installed?): {e}"))?;
    let mut server = layout
        .start()
        .map_err(|e| format!("dovecot (apt-get install dovecot-imapd): {e}"))?;
    eprintln!(
        "Dovecot on 127.0.0.1:{port} (teste1234@pec.it / Vecchia-Password-2020); commands from {base}"
    );
    let mut adapter = Adapter::open(layout.dovecot()).map_err(|e| e.to_string())?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = transport::run_local(&mut adapter, base.trim_end_matches('/')) => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}
