//! Fault injection over whole flows: the k-th write the store is asked to make fails, for
//! every k — the steps' transactions, sequence increments, the dispatcher's claims and
//! results, the sweep's, the expirer's — in two ways: refused before the store (an outage),
//! or committed and then reported failed (the timeout after a commit that every DynamoDB
//! client meets). Around the call that meets the failure, a raw dump of every item of the
//! table (challenges, locks, deadline index, idempotency records, outcome markers, holders
//! and their index, sequences) is compared:
//! - refused: the client gets 503 and nothing changed; the retry works;
//! - committed: the client gets 503; the retry with the same Idempotency-Key answers as
//!   the first call did and writes nothing more.
//!
//! A failure in a background writer (dispatcher, expirer) is retried by that writer (a
//! message whose claim or result was lost is swept once its lease lapses). Every flow still
//! reaches its ending with all its messages, each exactly once except where the provider
//! accepted a message whose result could not be recorded (at least once, by design), and
//! the final table equals the fault-free run's, timestamps and delivery bookkeeping aside.

use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use titolare_e2e::flow::{self, *};
use titolare_e2e::{GatewaySurface, LocalGateway, Reply, local_gateway_frozen_on};
use titolare_messaging::Dispatcher;
use titolare_store::probes::{Fate, Hooked, StoreWrite, WriteHook};
use titolare_store::{BackendError, ItemBackend, Query, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The write never reaches the store.
    Refused,
    /// The write commits; its caller is told it failed.
    CommittedButReported,
}

/// Fails the k-th write (transactions and sequence increments, counted once armed) in the
/// given mode.
struct FaultPlan {
    mode: Mode,
    counting: AtomicBool,
    target: AtomicU64,
    seen: AtomicU64,
    fired: Mutex<Option<String>>,
    /// Where the message went whose result record the failed write was: sent, but not
    /// recorded as sent, it is sent again after its lease (at least once). No other message
    /// may arrive twice.
    resent_to: Mutex<Option<String>>,
    /// Each outbox message's destination, by key, as written before it was sent (a sent
    /// message's record no longer holds it).
    destinations: Mutex<BTreeMap<String, String>>,
}

type Faulty = Hooked<FaultPlan>;

impl FaultPlan {
    fn new(mode: Mode) -> Self {
        Self {
            mode,
            counting: AtomicBool::new(false),
            target: AtomicU64::new(u64::MAX),
            seen: AtomicU64::new(0),
            fired: Mutex::new(None),
            resent_to: Mutex::new(None),
            destinations: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts writes from now on and fails the one numbered `target` (0-based), if any.
    fn arm(&self, target: Option<u64>) {
        self.seen.store(0, Ordering::SeqCst);
        self.target
            .store(target.unwrap_or(u64::MAX), Ordering::SeqCst);
        self.counting.store(true, Ordering::SeqCst);
    }

    fn writes(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }

    fn fired(&self) -> Option<String> {
        self.fired.lock().unwrap().clone()
    }

    fn resent_to(&self) -> Option<String> {
        self.resent_to.lock().unwrap().clone()
    }
}

/// The outbox messages `write` puts: each one's key and data (a completion puts several).
fn outbox_puts<'a>(write: &'a StoreWrite<'_>) -> Vec<(String, &'a Value)> {
    let StoreWrite::Transaction(writes) = write else {
        return Vec::new();
    };
    writes
        .iter()
        .filter_map(|w| match w {
            Write::Put { item, .. } if item.kind == "outbox" => {
                Some((format!("{} {}", item.pk, item.sk), &item.data))
            }
            _ => None,
        })
        .collect()
}

impl FaultPlan {
    /// Keeps where each outbox message goes, as long as its record says so.
    fn note_destination(&self, write: &StoreWrite<'_>) {
        for (key, data) in outbox_puts(write) {
            if let Some(to) = data["to"].as_str() {
                self.destinations.lock().unwrap().insert(key, to.to_owned());
            }
        }
    }

    /// The destination of the message whose "sent" result record `write` is, if it is one.
    fn result_record_of(&self, write: &StoreWrite<'_>) -> Option<String> {
        let (key, _) = outbox_puts(write)
            .into_iter()
            .find(|(_, m)| m["status"] == "sent")?;
        if let Some(to) = self.destinations.lock().unwrap().get(&key) {
            return Some(to.clone());
        }
        // A code's destination is its challenge's, recorded with it.
        let StoreWrite::Transaction(writes) = write else {
            return None;
        };
        writes.iter().find_map(|w| match w {
            Write::Put { item, .. } if item.kind == "challenge" => {
                item.data["destination"].as_str().map(str::to_owned)
            }
            _ => None,
        })
    }
}

impl WriteHook for FaultPlan {
    fn before(&self, write: StoreWrite<'_>) -> Fate {
        self.note_destination(&write);
        if !self.counting.load(Ordering::SeqCst)
            || self.seen.fetch_add(1, Ordering::SeqCst) != self.target.load(Ordering::SeqCst)
        {
            return Fate::Proceed;
        }
        *self.resent_to.lock().unwrap() = self.result_record_of(&write);
        *self.fired.lock().unwrap() = Some(describe(write));
        let e = BackendError::Unavailable(format!("injected failure ({:?})", self.mode));
        match self.mode {
            Mode::Refused => Fate::Refuse(e),
            Mode::CommittedButReported => Fate::CommitThenFail(e),
        }
    }
}

/// A write, by what it writes: how the report names a failed one.
fn describe(write: StoreWrite<'_>) -> String {
    let writes = match write {
        StoreWrite::Sequence(name) => return format!("sequence {name}"),
        StoreWrite::Transaction(writes) => writes,
    };
    let kinds: Vec<String> = writes
        .iter()
        .map(|w| match w {
            Write::Put { item, .. } => item.kind.clone(),
            Write::Delete { pk, .. } => format!("delete {}", pk.split('#').next().unwrap_or(pk)),
            Write::Check { .. } => "check".into(),
        })
        .collect();
    format!("transaction [{}]", kinds.join(", "))
}

/// Reads every item of the table under test, as stored.
enum Dumper {
    Embedded(titolare_store_embedded::EmbeddedBackend),
    Dynamo(aws_sdk_dynamodb::Client, String),
}

impl Dumper {
    async fn dump(&self) -> Vec<Value> {
        match self {
            Self::Embedded(b) => b.dump().expect("dump"),
            Self::Dynamo(client, table) => {
                titolare_store_dynamodb::testing::dump_table(client, table).await
            }
        }
    }

    /// Drops a DynamoDB Local table once compared: hundreds of them kept its memory growing
    /// and each call slower.
    async fn discard(self) {
        if let Self::Dynamo(client, table) = self {
            client
                .delete_table()
                .table_name(table)
                .send()
                .await
                .expect("the run's table is deleted");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Embedded,
    /// AWS's DynamoDB Local: real concurrent transactions, so runs need no lock.
    DynamoDbLocal,
}

/// One run of a flow on a fresh gateway over a fresh table, with the failure at `target`.
struct Run {
    gw: LocalGateway,
    surface: GatewaySurface,
    faulty: Arc<Faulty>,
    dumper: Dumper,
    sweeper: Dispatcher,
    keys: AtomicUsize,
    /// How a call met the injected failure, when one did.
    met: Mutex<Option<Met>>,
    /// Whether the clock was moved past a message's lease (at most once a run).
    lease_passed: AtomicBool,
    /// Where the messages claimed when the clock moved past their lease were going: a
    /// dispatcher may have been sending one at that moment, and the sweep sends it again
    /// (the at-least-once of a lapsed claim), so each may arrive twice.
    lapsed_to: Mutex<std::collections::BTreeSet<String>>,
}

const LEASE_SECONDS: i64 = titolare_domain::outbox::DISPATCH_LEASE.as_secs();

impl Run {
    async fn start(store: Store, mode: Mode, target: Option<u64>) -> Self {
        let (inner, dumper): (Arc<dyn ItemBackend>, Dumper) = match store {
            Store::Embedded => {
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "titolare-faults-{}/{}.redb",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                // A process id comes back (a test is a process under nextest): clear what an earlier
                // process of the same id left.
                let _ = std::fs::remove_file(&path);
                let b = titolare_store_embedded::EmbeddedBackend::open(&path).unwrap();
                (Arc::new(b.clone()), Dumper::Embedded(b))
            }
            Store::DynamoDbLocal => {
                use titolare_store_dynamodb::testing;
                let (client, table) = testing::fresh_local_table("faults").await;
                (
                    Arc::new(titolare_store_dynamodb::DynamoBackend::new(
                        client.clone(),
                        table.clone(),
                    )),
                    Dumper::Dynamo(client, table),
                )
            }
        };
        let faulty = Arc::new(Hooked::around(inner, FaultPlan::new(mode)));
        // Every run starts at the same second, so their tables compare.
        static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
        let start = *START.get_or_init(|| jiff::Timestamp::now().as_second());
        let gw = local_gateway_frozen_on(Some(faulty.clone()), start).await;
        let server = gw.server();
        let sweeper = Dispatcher::new(
            server.store.clone(),
            server.outbox.clone(),
            server.key.clone(),
            server.clock.clone(),
        )
        .with_public_base_url(&format!("http://{}", server.address));
        let run = Self {
            surface: GatewaySurface::new(gw.client.clone()),
            gw,
            faulty,
            dumper,
            sweeper,
            keys: AtomicUsize::new(0),
            met: Mutex::new(None),
            lease_passed: AtomicBool::new(false),
            lapsed_to: Mutex::new(Default::default()),
        };
        // The demo seed is written; count from here.
        run.settle().await;
        run.faulty.hook.arm(target);
        run
    }

    async fn dump(&self) -> Vec<Value> {
        self.dumper.dump().await
    }

    /// Waits until no message is left unsent. A message whose claim or result was lost to
    /// the failure (or whose commit was reported failed, so no one heard of it) waits for
    /// its lease: once the failure has happened, the clock moves past the lease, once, and
    /// the sweep takes the message, as the scheduled sweep does in AWS. Without a failure
    /// the clock never moves here: every message goes out on its own.
    async fn settle(&self) {
        let started = std::time::Instant::now();
        let mut stuck_since = None;
        while self.unsent().await {
            let now = std::time::Instant::now();
            let since = *stuck_since.get_or_insert(now);
            if self.faulty.hook.fired().is_some()
                && now - since > std::time::Duration::from_millis(300)
                && !self.lease_passed.swap(true, Ordering::SeqCst)
            {
                let claimed = self.claimed_destinations().await;
                self.lapsed_to.lock().unwrap().extend(claimed);
                self.surface.advance(LEASE_SECONDS + 1).await;
                // A dispatcher may have claimed a message between that read and the move of
                // the clock: its claim has lapsed too, and the sweep may send it again.
                let claimed = self.claimed_destinations().await;
                self.lapsed_to.lock().unwrap().extend(claimed);
                let _ = self.sweeper.sweep(100).await;
            }
            assert!(
                now - started < std::time::Duration::from_secs(30),
                "the outbox never settled"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// Where the messages claimed by a dispatcher right now are going (a code's destination
    /// is its challenge's).
    async fn claimed_destinations(&self) -> Vec<String> {
        use titolare_domain::outbox::DeliveryStatus;
        use titolare_domain::ports::{ChallengeStore, OutboxStore};
        let store = &self.gw.server().store;
        let query = Query {
            pk: titolare_store::keys::UNSENT_PK.into(),
            sk_prefix: String::new(),
            start_after: None,
            limit: 100,
            forward: true,
        };
        let entries = self
            .faulty
            .query(&query, 0)
            .await
            .expect("the unsent index");
        let mut out = Vec::new();
        for entry in entries.items {
            let transfer: titolare_domain::transfer::TransferId =
                serde_json::from_value(entry.data["transfer"].clone()).unwrap();
            let id = entry.data["message"].as_str().unwrap_or_default();
            let Ok(Some(m)) = store.outbox_message(&transfer, id).await else {
                continue;
            };
            if m.value.status != DeliveryStatus::Sending {
                continue;
            }
            let to = match (&m.value.to, &m.value.message) {
                (Some(to), _) => Some(to.clone()),
                (None, titolare_domain::outbox::Message::Code { party, .. }) => store
                    .challenge(&transfer, *party, m.value.channel)
                    .await
                    .ok()
                    .flatten()
                    .map(|c| c.value.destination),
                _ => None,
            };
            out.extend(to);
        }
        out
    }

    /// Whether any message is in the unsent index (one query, not a dump).
    async fn unsent(&self) -> bool {
        let query = Query {
            pk: titolare_store::keys::UNSENT_PK.into(),
            sk_prefix: String::new(),
            start_after: None,
            limit: 1,
            forward: true,
        };
        !self
            .faulty
            .query(&query, 0)
            .await
            .expect("the unsent index")
            .items
            .is_empty()
    }

    fn met(&self, how: Met) {
        *self.met.lock().unwrap() = Some(how);
    }
}

/// The table, item by item: the first difference, or none.
fn difference(before: &[Value], after: &[Value], ignore_sequences: bool) -> Option<String> {
    let keyed = |items: &[Value]| -> BTreeMap<String, Value> {
        items
            .iter()
            .filter(|i| !(ignore_sequences && i["pk"] == titolare_store::keys::SEQUENCE_PK))
            .map(|i| (format!("{} {}", i["pk"], i["sk"]), i.clone()))
            .collect()
    };
    let (b, a) = (keyed(before), keyed(after));
    for (key, item) in &a {
        match b.get(key) {
            None => return Some(format!("new item {key}: {item}")),
            Some(old) if old != item => return Some(format!("changed {key}: {old} → {item}")),
            _ => {}
        }
    }
    b.keys()
        .find(|k| !a.contains_key(*k))
        .map(|k| format!("item gone: {k}"))
}

#[async_trait]
impl Surface for Run {
    async fn call(&self, method: &str, path: &str, who: As<'_>, body: Option<Value>) -> Reply {
        if method == "GET" {
            return self.surface.call(method, path, who, body).await;
        }
        self.settle().await;
        let key = format!("fault-test-{}", self.keys.fetch_add(1, Ordering::SeqCst));
        let headers = [("idempotency-key", key.as_str())];
        let unfired = self.faulty.hook.fired().is_none();
        let before = if unfired {
            Some(self.dump().await)
        } else {
            None
        };
        let first = self
            .surface
            .call_with(method, path, who, body.clone(), &headers)
            .await;
        if first.status != 503 {
            assert!(first.status < 500, "{method} {path}: {}", first.body);
            if let Some(failed) = self.faulty.hook.fired().filter(|f| unfired && is_step(f)) {
                // The step's own write committed but was reported failed: the handler found
                // its idempotency record and answered as the write it had made.
                assert_eq!(
                    self.faulty.hook.mode,
                    Mode::CommittedButReported,
                    "{failed}"
                );
                assert_eq!(
                    first.header("idempotent-replayed"),
                    Some("true"),
                    "{method} {path}: {failed}: {}",
                    first.body
                );
                self.met(Met::AnsweredFromItsOwnWrite);
            }
            self.settle().await;
            return first;
        }
        let failed = self
            .faulty
            .hook
            .fired()
            .filter(|_| unfired)
            .unwrap_or_else(|| panic!("{method} {path}: 503 without a failure: {}", first.body));
        assert_eq!(
            first.body["type"], "urn:titolare:problem:unavailable",
            "{method} {path}"
        );
        self.settle().await;
        let after = self.dump().await;
        let sequence = failed.starts_with("sequence");
        if self.faulty.hook.mode == Mode::Refused {
            // A draft's number may be taken by a draft that then failed: numbers have gaps,
            // never repeats.
            let draft = method == "POST" && path == "/v1/transfers";
            if let Some(d) = difference(before.as_ref().unwrap(), &after, draft) {
                panic!("{method} {path} failed ({failed}) but left a change: {d}");
            }
        }
        let retry = self
            .surface
            .call_with(method, path, who, body, &headers)
            .await;
        assert!(
            retry.status < 500,
            "{method} {path} retried: {}",
            retry.body
        );
        self.settle().await;
        if self.faulty.hook.mode == Mode::CommittedButReported && !sequence {
            assert_eq!(
                retry.header("idempotent-replayed"),
                Some("true"),
                "{method} {path}: the retry answers as the committed call"
            );
            if let Some(d) = difference(&after, &self.dump().await, false) {
                panic!("{method} {path}: the retry wrote again: {d}");
            }
        }
        self.met(Met::Unavailable);
        retry
    }

    async fn code(&self, transfer: &str, party: &str, channel: &str, to: &str) -> String {
        self.settle().await;
        self.surface.code(transfer, party, channel, to).await
    }

    async fn link(&self, transfer: &str, party: &str, to: &str) -> String {
        self.settle().await;
        self.surface.link(transfer, party, to).await
    }

    async fn reset_token(&self, account: &str, mailbox: &str, to: &str) -> String {
        self.settle().await;
        self.surface.reset_token(account, mailbox, to).await
    }

    /// Each distinct email once. Only a message whose result record the failed write was (sent,
    /// its result lost, sent again after its lease) or whose claim lapsed when the clock moved
    /// may have arrived twice, and only twice: any other duplicate fails the run.
    async fn emails_to(&self, to: &str) -> Vec<Value> {
        self.settle().await;
        let mut copies: Vec<(Value, usize)> = Vec::new();
        for m in self.surface.emails_to(to).await {
            match copies
                .iter_mut()
                .find(|(seen, _)| seen["subject"] == m["subject"] && seen["text"] == m["text"])
            {
                Some((_, n)) => *n += 1,
                None => copies.push((m, 1)),
            }
        }
        let again: Vec<&(Value, usize)> = copies.iter().filter(|(_, n)| *n > 1).collect();
        let allowed = self.faulty.hook.resent_to().as_deref() == Some(to)
            || self.lapsed_to.lock().unwrap().contains(to);
        assert!(
            again.is_empty() || (allowed && again.iter().all(|(_, n)| *n == 2)),
            "sent more than once to {to} (the failed write: {:?}): {again:?}",
            self.faulty.hook.fired()
        );
        copies.into_iter().map(|(m, _)| m).collect()
    }

    async fn advance(&self, seconds: i64) {
        self.surface.advance(seconds).await
    }
}

type FlowFn = for<'a> fn(&'a Run) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Seed 000 with `keep`: three items, the new holder rejects one, the password is set.
fn keep(run: &Run) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        flow::full_success(run).await;
    })
}

/// `hand_over`: the mailbox goes to account demo2 with a copy of the new holder.
fn hand_over(s: &Run) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let mut body = draft_body(&[("mailbox", "demo@pec.it")], TESTDUE.holder);
        body["management"] = json!({"mode": "hand_over", "username": "demo2"});
        let id = open_transfer(s, body).await;
        let all = [("demo@pec.it", true)];
        ok(
            &current_holder_part(s, &id, &INITIATOR, &all).await,
            200,
            "current",
        );
        let last = new_holder_part(s, &id, &TESTDUE, &all).await;
        ok(&last, 200, "new holder");
        assert_eq!(last.body["status"], "completed");
        let there = s
            .call(
                "GET",
                "/v1/mailboxes/demo@pec.it",
                As::Account("demo2"),
                None,
            )
            .await;
        ok(&there, 200, "now in demo2");
        let token = s.reset_token("demo2", "demo@pec.it", TESTDUE.email).await;
        let reset = s
            .call(
                "POST",
                "/v1/password-reset",
                As::Nobody,
                Some(json!({"token": token, "password": "Passaggio-2026"})),
            )
            .await;
        ok(&reset, 200, "reset in the new account");
        // The initiator is also the current holder here: told in both roles.
        told_once(s, &id, "concluso", &[INITIATOR.email], 2).await;
        told_once(s, &id, "concluso", &[TESTDUE.email], 1).await;
    })
}

/// The current holder rejects every item: the request ends rejected.
fn rejection(s: &Run) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let items = [
            ("mailbox", "teste1234@pec.it"),
            ("domain", "testazienda-pec.it"),
        ];
        let id = open_transfer(s, draft_body(&items, TESTDUE.holder)).await;
        let link = s.link(&id, "current_holder", AZIENDA.email).await;
        let ended = decide(
            s,
            &link,
            &[("teste1234@pec.it", false), ("testazienda-pec.it", false)],
        )
        .await;
        ok(&ended, 200, "rejection");
        assert_eq!(stored_status(s, &id).await, "rejected");
        told_once(
            s,
            &id,
            "rifiutato",
            &[INITIATOR.email, AZIENDA.email, TESTDUE.email],
            1,
        )
        .await;
    })
}

/// The initiator cancels an open request.
fn cancel(s: &Run) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let id = open_transfer(
            s,
            draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
        )
        .await;
        let cancelled = s
            .call(
                "POST",
                &format!("/v1/transfers/{id}/cancel"),
                As::Account("demo"),
                None,
            )
            .await;
        ok(&cancelled, 200, "cancel");
        assert_eq!(stored_status(s, &id).await, "cancelled");
        told_once(
            s,
            &id,
            "annullato",
            &[INITIATOR.email, AZIENDA.email, TESTDUE.email],
            1,
        )
        .await;
    })
}

/// Nobody acts: past the deadline the expirer ends the request and tells everyone.
fn expirer(s: &Run) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let id = open_transfer(
            s,
            draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
        )
        .await;
        s.advance(5 * 86_400).await;
        told_once(
            s,
            &id,
            "scaduto",
            &[INITIATOR.email, AZIENDA.email, TESTDUE.email],
            1,
        )
        .await;
        assert_eq!(stored_status(s, &id).await, "expired");
    })
}

/// The request's status as stored (a read shows `expired` from the deadline on, whether or
/// not it was written).
async fn stored_status(s: &Run, id: &str) -> String {
    use titolare_domain::ports::TransferReader;
    let id = titolare_domain::transfer::TransferId::parse(id).unwrap();
    let stored = s.gw.server().store.transfer(&id).await.unwrap().unwrap();
    serde_json::to_value(stored.value.status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// Each of `to` gets `count` distinct emails whose subject says how the request ended.
async fn told_once(s: &Run, id: &str, ended: &str, to: &[&str], count: usize) {
    let subject = format!("Cambio titolare {ended} (richiesta {id})");
    for to in to {
        let told = emails_with(s, to, &subject, count).await;
        assert_eq!(told.len(), count, "{to}: {subject}");
    }
}

/// The table with what legitimately differs between runs masked: an outbox message's
/// delivery bookkeeping (attempts, version, provider id and the pointer keyed by it), the
/// gateway's request ids, what is
/// keyed or salted per run (idempotency fingerprints, password hashes), the times in sort
/// keys (compared in the items themselves); and request numbers (a draft whose number was
/// taken but whose write failed leaves a gap) renumbered in order of appearance. Times stay:
/// [`differs`] allows them only the one move of the clock past a lease.
fn normalised(items: &[Value]) -> Vec<Value> {
    fn mask(v: &mut Value, fields: &[&str]) {
        match v {
            Value::Object(map) => {
                for (k, e) in map.iter_mut() {
                    if fields.contains(&k.as_str()) {
                        *e = Value::Null;
                    } else {
                        mask(e, fields);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|e| mask(e, fields)),
            _ => {}
        }
    }
    fn renumber(v: &mut Value, numbers: &BTreeMap<u64, String>, re: &regex::Regex) {
        match v {
            Value::String(s) => {
                let text = s.clone();
                *s = re
                    .replace_all(&text, |c: &regex::Captures| {
                        let whole = c.get(0).unwrap();
                        let rest = &text[whole.end()..];
                        let follows =
                            rest.is_empty() || rest.starts_with('-') || rest.starts_with('.');
                        if c[1].is_empty() && !follows {
                            // "1 Anno" is no request number; "1", "1-invitation-…" and a
                            // platform command's "1.0.holder.changed" are.
                            return whole.as_str().to_owned();
                        }
                        match c[2].parse::<u64>().ok().and_then(|n| numbers.get(&n)) {
                            Some(n) => format!("{}{n}", &c[1]),
                            None => whole.as_str().to_owned(),
                        }
                    })
                    .into_owned();
            }
            Value::Object(map) => map.values_mut().for_each(|e| renumber(e, numbers, re)),
            Value::Array(a) => a.iter_mut().for_each(|e| renumber(e, numbers, re)),
            _ => {}
        }
    }
    let mut numbers = BTreeMap::new();
    for item in items {
        let number = item["pk"]
            .as_str()
            .and_then(|pk| pk.strip_prefix("TRANSFER#"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = number {
            let next = format!("n{}", numbers.len() + 1);
            numbers.entry(n).or_insert(next);
        }
    }
    // A request number: a value of its own, after a key's '#', or in words.
    let digits = regex::Regex::new(r"(^|#|richiesta |titolare |transfer-)(\d+)\b").unwrap();
    let leading_time = regex::Regex::new(r"^\d{10,}").unwrap();
    let mut out: Vec<Value> = items
        .iter()
        .filter(|i| i["pk"] != titolare_store::keys::SEQUENCE_PK)
        .map(|i| {
            let mut i = i.clone();
            let outbox = i["kind"] == "outbox";
            if outbox {
                i["version"] = Value::Null;
            }
            // Idempotency fingerprints are keyed by each gateway's own secret; a password
            // hash has its own random salt.
            let fields: &[&str] = if outbox {
                &["attempts", "provider_id", "request_id", "fingerprint"]
            } else {
                &["request_id", "fingerprint", "password_hash"]
            };
            mask(&mut i, fields);
            if i["kind"] == titolare_store::keys::SENT_KIND {
                // Keyed by the provider's id, new on every run: named by its message instead
                // (a message sent twice, at least once, points twice to the same).
                i["pk"] =
                    format!("SENT#{}", i["data"]["message"].as_str().unwrap_or_default()).into();
            }
            if i["kind"] == "lock" {
                // A lock's version is the number of the request holding it.
                if let Some(n) = i["version"].as_u64().and_then(|v| numbers.get(&v)) {
                    i["version"] = n.clone().into();
                }
            }
            if i["kind"] == "operation" || i["pk"] == titolare_store::keys::DUE_PK {
                // Operations are keyed by the time they were written, the deadline index
                // by the deadline.
                let sk = i["sk"].as_str().unwrap_or_default();
                i["sk"] = leading_time.replace(sk, "<time>").into_owned().into();
            }
            renumber(&mut i, &numbers, &digits);
            i
        })
        .collect();
    out.sort_by_key(|i| format!("{} {}", i["pk"], i["sk"]));
    out.dedup_by(|a, b| a["kind"] == titolare_store::keys::SENT_KIND && a == b);
    out
}

/// How `got` differs from `expected`, item by item, if it does. A time may differ only by
/// `shift` seconds later (the clock moved past a lease once, so whatever came after it
/// happened that much later); anything else must be equal.
fn differs(expected: &[Value], got: &[Value], shift: i64) -> Option<String> {
    fn same(e: &Value, g: &Value, shift: i64, key: &str) -> bool {
        match (e, g) {
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| same(v, w, shift, k)))
            }
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w, shift, key))
            }
            (Value::String(a), Value::String(b)) if a != b => {
                match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
                    (Ok(a), Ok(b)) => b.duration_since(a) == jiff::SignedDuration::from_secs(shift),
                    _ => false,
                }
            }
            (Value::Number(a), Value::Number(b)) if a != b => {
                let time = key.ends_with("_at") || key.ends_with("_until");
                time && b
                    .as_i64()
                    .zip(a.as_i64())
                    .is_some_and(|(b, a)| b - a == shift)
            }
            (a, b) => a == b,
        }
    }
    let keyed = |items: &[Value]| -> BTreeMap<String, Value> {
        items
            .iter()
            .map(|i| (format!("{} {}", i["pk"], i["sk"]), i.clone()))
            .collect()
    };
    let (e, g) = (keyed(expected), keyed(got));
    for (key, item) in &g {
        match e.get(key) {
            None => return Some(format!("new item {key}: {item}")),
            Some(old) if !same(old, item, shift, "") => {
                return Some(format!("changed {key}: {old} → {item}"));
            }
            _ => {}
        }
    }
    e.keys()
        .find(|k| !g.contains_key(*k))
        .map(|k| format!("item gone: {k}"))
}

/// How a failed write met the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Met {
    /// The call answered 503; its retry went through.
    Unavailable,
    /// The call's write committed, was reported failed, and the call answered from it.
    AnsweredFromItsOwnWrite,
    /// A background writer (dispatcher, sweep, expirer) met it and tried again.
    Background,
}

/// Whether a failed write was an HTTP step's (the dispatcher's writes touch only outbox
/// messages, their challenge and the unsent index; the expirer's are steps too).
fn is_step(failed: &str) -> bool {
    failed.starts_with("sequence")
        || ["transfer", "idempotency", "mailbox", "holder"]
            .iter()
            .any(|k| failed.contains(k))
}

#[derive(Default)]
struct Tally(BTreeMap<Met, usize>);

impl Tally {
    fn add(&mut self, met: Met) {
        *self.0.entry(met).or_default() += 1;
    }

    fn count(&self, met: Met) -> usize {
        self.0.get(&met).copied().unwrap_or_default()
    }
}

const PARALLEL_RUNS: usize = 8;

/// Runs `flow` once without failure, then once per write k with the k-th write failing;
/// returns how the failures met the flow.
async fn every_write_fails_once(
    name: &'static str,
    flow: FlowFn,
    store: Store,
    mode: Mode,
) -> Tally {
    let golden = Run::start(store, mode, None).await;
    flow(&golden).await;
    golden.settle().await;
    let writes = golden.faulty.hook.writes();
    let expected = normalised(&golden.dump().await);
    golden.gw.shutdown().await;
    golden.dumper.discard().await;
    let mut tally = Tally::default();
    // Runs are independent (own gateway, own table) and mostly wait: a few at once.
    let mut pending = tokio::task::JoinSet::new();
    let expected = Arc::new(expected);
    for k in 0..writes {
        if pending.len() == PARALLEL_RUNS {
            tally.add(pending.join_next().await.unwrap().unwrap());
        }
        let expected = expected.clone();
        pending.spawn(async move {
            let run = Run::start(store, mode, Some(k)).await;
            flow(&run).await;
            run.settle().await;
            let failed = run
                .faulty
                .hook
                .fired()
                .unwrap_or_else(|| panic!("{name}: write {k} of {writes} was never made"));
            let got = normalised(&run.dump().await);
            let shift = if run.lease_passed.load(Ordering::SeqCst) {
                LEASE_SECONDS + 1
            } else {
                0
            };
            if let Some(d) = differs(&expected, &got, shift) {
                panic!("{name}, {mode:?} write {k} ({failed}): the final table differs: {d}");
            }
            let met = run.met.lock().unwrap().take().unwrap_or(Met::Background);
            if met == Met::Background {
                assert!(
                    !is_step(&failed) || failed.contains("transfer"),
                    "{name} write {k}: {failed}"
                );
            }
            run.gw.shutdown().await;
            run.dumper.discard().await;
            met
        });
    }
    while let Some(met) = pending.join_next().await {
        tally.add(met.unwrap());
    }
    titolare_e2e::figure(
        env!("CARGO_TARGET_TMPDIR"),
        &format!(
            "faults: {name} on {store:?}, {mode:?}: {writes} writes, each failed once: {} calls \
             answered 503 and their retry went through, {} answered from the write they had \
             made, {} background writes (dispatcher, sweep, expirer) tried again; table as \
             without the failure",
            tally.count(Met::Unavailable),
            tally.count(Met::AnsweredFromItsOwnWrite),
            tally.count(Met::Background)
        ),
    );
    tally
}

async fn every_flow(store: Store, mode: Mode) {
    let flows: [(&str, FlowFn); 5] = [
        ("keep (the reference flow)", keep),
        ("hand_over", hand_over),
        ("rejection", rejection),
        ("cancel", cancel),
        ("expirer", expirer),
    ];
    for (name, flow) in flows {
        let tally = every_write_fails_once(name, flow, store, mode).await;
        assert!(
            tally.count(Met::Background) > 0,
            "{name}: the dispatcher's writes failed too"
        );
        assert!(
            tally.count(Met::Unavailable) + tally.count(Met::AnsweredFromItsOwnWrite) > 0,
            "{name}: the steps' writes failed too"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_refused_once_on_the_embedded_store() {
    every_flow(Store::Embedded, Mode::Refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_committed_but_reported_failed_once_on_the_embedded_store() {
    every_flow(Store::Embedded, Mode::CommittedButReported).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_refused_once_on_dynamodb() {
    every_flow(Store::DynamoDbLocal, Mode::Refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_committed_but_reported_failed_once_on_dynamodb() {
    every_flow(Store::DynamoDbLocal, Mode::CommittedButReported).await;
}

/// The comparison lets a time move only by the one shift of the clock past a lease, and
/// nothing else move at all.
#[test]
fn the_comparison_allows_only_the_lease_shift() {
    let item = |deadline: &str, expires_at: i64| {
        json!({"pk": "TRANSFER#n1", "sk": "TRANSFER", "data": {
            "deadline": deadline, "expires_at": expires_at, "status": "open",
        }})
    };
    let shift = LEASE_SECONDS + 1;
    let expected = [item("2026-12-04T10:00:00Z", 1_000)];
    let later = jiff::Timestamp::from_second(1_796_378_400 + shift)
        .unwrap()
        .to_string();
    assert_eq!(
        later,
        format!("2026-12-04T10:0{}:0{}Z", shift / 60, shift % 60)
    );
    assert_eq!(
        differs(&expected, &[item(&later, 1_000 + shift)], shift),
        None
    );
    assert_eq!(differs(&expected, &expected, shift), None, "or not moved");
    for wrong in [
        item("2026-12-04T10:00:01Z", 1_000),
        item(&later, 1_000 + shift),
        item("2026-12-04T10:00:00Z", 1_001),
    ] {
        assert!(
            differs(&expected, std::slice::from_ref(&wrong), 0).is_some(),
            "{wrong}"
        );
    }
    assert!(differs(&expected, &[item("2026-12-04T10:00:01Z", 1_000)], shift).is_some());
    let mut other = item("2026-12-04T10:00:00Z", 1_000);
    other["data"]["status"] = json!("completed");
    assert!(differs(&expected, &[other], shift).is_some());
}
