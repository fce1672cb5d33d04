//! The local stand-in for the mail platform's two queues (docs/platform.md). Commands the
//! relay hands over wait here, in order per mailbox, each offered again if not acknowledged
//! within a lease, as SQS FIFO does. By default the gateway acknowledges them itself
//! (`applied`); with `TITOLARE_PLATFORM=external` an adapter takes them from
//! `GET /dev/platform/next` and answers at `POST /dev/platform/acks` (the Dovecot adapter,
//! `titolare-dovecot --local URL`). `GET /dev/platform` lists them, `/dev/platform.html` too.

use async_trait::async_trait;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use titolare_domain::platform::{Ack, AckResult, Command, SCHEMA};
use titolare_domain::ports::Platform;

/// How long a command offered to an adapter stays hidden from the next one.
pub const LEASE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The gateway acknowledges each command itself.
    Auto,
    /// An adapter takes and acknowledges them.
    External,
}

impl Mode {
    /// `TITOLARE_PLATFORM`: `auto` (or unset) or `external`.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("TITOLARE_PLATFORM").as_deref() {
            Err(_) | Ok("" | "auto") => Ok(Self::Auto),
            Ok("external") => Ok(Self::External),
            Ok(other) => Err(format!("TITOLARE_PLATFORM: auto or external, not {other}")),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    command: Command,
    /// How often it was offered to an adapter.
    offers: u32,
    leased_until: Option<Instant>,
    ack: Option<Ack>,
}

pub struct LocalPlatform {
    pub mode: Mode,
    entries: Mutex<Vec<Entry>>,
    pub arrived: tokio::sync::Notify,
}

impl LocalPlatform {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            entries: Mutex::new(Vec::new()),
            arrived: tokio::sync::Notify::new(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `max` commands to apply now: the first unacknowledged one of each mailbox or
    /// domain (a group's next waits for it), not under another adapter's lease; each leased.
    pub fn next(&self, max: usize) -> Vec<Command> {
        let now = Instant::now();
        let mut entries = self.entries();
        let mut groups = std::collections::HashSet::new();
        let mut offered = Vec::new();
        for entry in entries.iter_mut().filter(|e| e.ack.is_none()) {
            if !groups.insert(entry.command.group()) {
                continue;
            }
            if entry.leased_until.is_some_and(|t| t > now) || offered.len() == max {
                continue;
            }
            entry.leased_until = Some(now + LEASE);
            entry.offers += 1;
            offered.push(entry.command.clone());
        }
        offered
    }

    /// The acknowledgement recorded by the service: the command leaves the queue.
    pub fn acknowledged(&self, ack: &Ack) {
        if let Some(entry) = self
            .entries()
            .iter_mut()
            .find(|e| e.command.id == ack.command)
        {
            entry.ack.get_or_insert_with(|| ack.clone());
        }
    }

    /// Every command seen, oldest first, with where it stands.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.entries()
            .iter()
            .map(|e| {
                let mut command = serde_json::to_value(&e.command).unwrap_or_default();
                // The password hash is the platform's, not for a page.
                if command.get("password_hash").is_some_and(|h| !h.is_null()) {
                    command["password_hash"] = "(argon2id)".into();
                }
                serde_json::json!({
                    "command": command,
                    "offers": e.offers,
                    "ack": e.ack,
                })
            })
            .collect()
    }

    /// The auto mode's acknowledgement of a command, at the service's `now`.
    pub fn auto_ack(command: &Command, now: jiff::Timestamp) -> Ack {
        Ack {
            schema: SCHEMA,
            command: command.id.clone(),
            result: AckResult::Applied,
            reason: None,
            at: now,
        }
    }
}

#[async_trait]
impl Platform for LocalPlatform {
    async fn deliver(&self, command: &Command) -> Result<(), String> {
        {
            let mut entries = self.entries();
            // Deduplicated by id, as the FIFO queue does.
            if entries.iter().all(|e| e.command.id != command.id) {
                entries.push(Entry {
                    command: command.clone(),
                    offers: 0,
                    leased_until: None,
                    ack: None,
                });
            }
        }
        self.arrived.notify_one();
        Ok(())
    }
}
