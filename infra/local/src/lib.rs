//! The local gateway: what API Gateway and the JWT authorizer do in AWS, done in one
//! process over the embedded store, so the same handlers run on a laptop.

mod dev;
pub mod events;
mod gateway;
pub mod platform;
pub mod seed;
pub mod web;

pub use dev::DevLogin;
pub use gateway::{Server, serve_with};

use std::path::PathBuf;
use std::sync::Arc;
use titolare_api::{App, Services};
use titolare_domain::metrics::NoMetrics;
use titolare_domain::otp::CodePolicy;
use titolare_domain::secret::SecretKey;
use titolare_domain::steps::Rules;
use titolare_messaging::stream::outbox_key;
use titolare_messaging::{Dispatcher, LocalOutbox};
use titolare_store::ItemBackend;
use titolare_store::clock::OffsetClock;
use titolare_store::{TableStore, keys};
use titolare_store_embedded::EmbeddedBackend;

mod notify;
use notify::Notifying;

pub struct Config {
    pub port: u16,
    pub data_dir: PathBuf,
    pub rules: Rules,
    /// The limits on codes and sends.
    pub codes: CodePolicy,
    /// Another store than the embedded file under `data_dir` (tests run the gateway over
    /// DynamoDB this way).
    pub backend: Option<Arc<dyn ItemBackend>>,
    /// A clock that stands at this epoch second and moves only by `POST /dev/clock` (tests
    /// of a deadline to the second); `None` runs on system time.
    pub frozen_clock_at: Option<i64>,
    /// Who acknowledges the mail platform's commands (`TITOLARE_PLATFORM`).
    pub platform: platform::Mode,
}

impl Config {
    /// The default rules: policies off.
    pub fn new(port: u16, data_dir: PathBuf) -> Self {
        Self {
            port,
            data_dir,
            rules: Rules::default(),
            codes: CodePolicy::default(),
            backend: None,
            frozen_clock_at: None,
            platform: platform::Mode::Auto,
        }
    }
}

/// How often the local expirer looks for overdue transfers (every 5 minutes in AWS; here
/// often, so `POST /dev/clock` shows an expiry within a second).
const EXPIRER_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// How often the local dispatcher sweeps the unsent index (messages past their lease).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens the store under `data_dir`, seeds the demo accounts once, starts the in-process
/// dispatcher and serves.
pub async fn serve(config: Config) -> Result<Server, Box<dyn std::error::Error>> {
    let inner: Arc<dyn ItemBackend> = match config.backend.clone() {
        Some(backend) => backend,
        None => Arc::new(
            EmbeddedBackend::open(&config.data_dir.join("titolare.redb"))
                .map_err(|e| e.to_string())?,
        ),
    };
    let backend = Arc::new(notify::notifying(inner));
    let clock = Arc::new(match config.frozen_clock_at {
        Some(seconds) => OffsetClock::frozen_at(seconds),
        None => OffsetClock::default(),
    });
    let store = Arc::new(TableStore::new(backend.clone(), clock.clone()));
    seed::demo(&*store).await.map_err(|e| e.to_string())?;
    let login = DevLogin::open(&config.data_dir)?;
    let key = dev::secret_key(&config.data_dir)?;
    let outbox = Arc::new(LocalOutbox::default());
    // Bound first, so links and the panel's address name the port it really has.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
    let port = listener.local_addr()?.port();
    let mut dispatcher = Dispatcher::new(store.clone(), outbox.clone(), key.clone(), clock.clone())
        .with_public_base_url(&public_base_url(port));
    // The example provider signs the emails unless named as a deployment names it.
    if let (Ok(name), Ok(support)) = (
        std::env::var("PROVIDER_NAME"),
        std::env::var("SUPPORT_CONTACT"),
    ) {
        dispatcher = dispatcher.with_sender(&name, &support);
    }
    let dispatch_task = spawn_dispatcher(&backend, dispatcher);
    let expirer_task = spawn_expirer(store.clone(), clock.clone(), config.rules.clone());
    let platform = Arc::new(platform::LocalPlatform::new(config.platform));
    let bus = Arc::new(events::LocalBus::default());
    let mut tasks = vec![
        dispatch_task,
        expirer_task,
        spawn_relay(
            &backend,
            platform.clone(),
            bus.clone(),
            store.clone(),
            clock.clone(),
            config.rules.clone(),
        ),
    ];
    if config.platform == platform::Mode::Auto {
        tasks.push(spawn_auto_platform(
            store.clone(),
            platform.clone(),
            clock.clone(),
        ));
    }
    let app = App::new(Services {
        store: store.clone(),
        clock: clock.clone(),
        key: Some(key.clone()),
        codes: config.codes,
        rules: config.rules.clone(),
        metrics: Arc::new(NoMetrics),
    });
    let local = Local {
        app,
        rules: config.rules,
        login,
        clock,
        outbox,
        store,
        key,
        platform,
        bus,
        tasks,
    };
    Ok(serve_with(local, listener).await?)
}

/// Everything the gateway serves with.
pub struct Local {
    pub app: App,
    /// The rules the transfers follow (a delivery report's change is committed under them).
    pub rules: titolare_domain::steps::Rules,
    pub login: DevLogin,
    pub clock: Arc<OffsetClock>,
    pub outbox: Arc<LocalOutbox>,
    pub store: Arc<TableStore>,
    pub key: SecretKey,
    pub platform: Arc<platform::LocalPlatform>,
    pub bus: Arc<events::LocalBus>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Links in emails point at the local gateway (`PUBLIC_BASE_URL` overrides).
fn public_base_url(port: u16) -> String {
    std::env::var("PUBLIC_BASE_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"))
}

/// The EventBridge-scheduled expirer, in process.
fn spawn_expirer(
    store: Arc<TableStore>,
    clock: Arc<OffsetClock>,
    rules: Rules,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRER_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = titolare_api::lifecycle::expire_all_overdue(
                &*store,
                &NoMetrics,
                &*clock,
                &rules,
                100,
                || true,
            )
            .await
            {
                tracing::warn!(error = %e, "local expirer failed");
            }
        }
    })
}

/// Sends each outbox record right after the commit that wrote it, as the DynamoDB stream
/// and the dispatch function do in AWS, and sweeps what is left unsent on a schedule (as
/// the dispatch function's schedule does), which also covers records missed by lagging.
fn spawn_dispatcher(backend: &Notifying, dispatcher: Dispatcher) -> tokio::task::JoinHandle<()> {
    let mut commits = backend.hook.subscribe();
    tokio::spawn(async move {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            let items = tokio::select! {
                received = commits.recv() => match received {
                    Ok(items) => items,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "dispatcher lagged behind the commits; the sweep sends them");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = sweep.tick() => {
                    if let Err(e) = dispatcher.sweep(100).await {
                        tracing::warn!(error = %e, "local outbox sweep failed");
                    }
                    continue;
                }
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

/// Right after each commit, as the dispatch function does with the stream's records in AWS:
/// hands a completed transfer's new commands to the local platform (its queue deduplicates
/// by id, so nothing is marked in the table), and takes out of its running transfer an
/// item the inventory changed, and publishes an ending's domain event.
fn spawn_relay(
    backend: &Notifying,
    platform: Arc<platform::LocalPlatform>,
    bus: Arc<events::LocalBus>,
    store: Arc<TableStore>,
    clock: Arc<OffsetClock>,
    rules: Rules,
) -> tokio::task::JoinHandle<()> {
    let mut commits = backend.hook.subscribe();
    tokio::spawn(async move {
        loop {
            let items = match commits.recv().await {
                Ok(items) => items,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "platform relay lagged behind the commits");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            for item in items
                .iter()
                .filter(|i| matches!(i.kind.as_str(), "mailbox" | "domain" | keys::REMOVED_KIND))
            {
                let Some((account, changed)) = keys::inventory_item(&item.pk, &item.sk) else {
                    continue;
                };
                if let Err(e) = titolare_api::lifecycle::inventory_changed(
                    &*store, &NoMetrics, &*clock, &rules, &account, &changed,
                )
                .await
                {
                    tracing::warn!(error = %e, "local inventory check failed");
                }
            }
            // An ending's outcome marker: its domain event.
            for item in items.iter().filter(|i| i.sk == keys::OUTCOME_SK) {
                let Some(id) = item
                    .pk
                    .strip_prefix("TRANSFER#")
                    .and_then(|id| titolare_domain::transfer::TransferId::parse(id).ok())
                else {
                    continue;
                };
                if let Err(e) = titolare_api::events::publish_ended(&*store, &*bus, &id).await {
                    tracing::warn!(error = %e, "local domain event not published");
                }
            }
            for item in items.iter().filter(|i| i.kind == "transfer") {
                let Ok(transfer) = serde_json::from_value::<titolare_domain::transfer::Transfer>(
                    item.data.clone(),
                ) else {
                    continue;
                };
                if let Err(e) = titolare_api::platform::deliver(&*platform, &transfer).await {
                    tracing::warn!(transfer = transfer.id.as_str(), error = %e, "local platform relay failed");
                }
            }
        }
    })
}

/// The platform of the default local mode: acknowledges every command as applied, a moment
/// after it arrives.
fn spawn_auto_platform(
    store: Arc<TableStore>,
    platform: Arc<platform::LocalPlatform>,
    clock: Arc<OffsetClock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(200),
                platform.arrived.notified(),
            )
            .await;
            for command in platform.next(100) {
                let ack = platform::LocalPlatform::auto_ack(
                    &command,
                    titolare_domain::ports::Clock::now(&*clock),
                );
                let text = serde_json::to_string(&ack).unwrap_or_default();
                match titolare_api::platform::record_ack(&*store, &NoMetrics, &text).await {
                    Ok(_) => platform.acknowledged(&ack),
                    Err(e) => {
                        tracing::warn!(command = command.id.as_str(), error = %e, "local platform: acknowledgement not recorded")
                    }
                }
            }
        }
    })
}

/// JSON logs at the levels `RUST_LOG` names per target (`info` when unset), as in Lambda.
pub fn init_tracing() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let levels: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .finish()
        .with(levels)
        .init();
}
