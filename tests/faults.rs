//! Fault injection over the whole of seed 000: every write of every step fails once before
//! it succeeds. After each failure the client gets a 503, the request and everything around
//! it are exactly as before the step, and retrying the step works.

use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use titolare_domain::ports::*;
use titolare_domain::{AccountId, PageRequest};
use titolare_e2e::flow::{self, As, Surface};
use titolare_e2e::{GatewaySurface, Reply};
use titolare_store::probes::{Hooked, TransactHook};
use titolare_store::{BackendError, TableStore, Write};

/// Fails the next transaction of a wizard step when armed. The dispatcher's own writes
/// (outbox and challenge delivery) pass, so the failure always hits the step under test.
struct StepFailure {
    armed: AtomicBool,
}

impl TransactHook for StepFailure {
    fn before(&self, writes: &[Write]) -> Result<(), BackendError> {
        let step = writes.iter().any(|w| {
            matches!(w, Write::Put { item, .. } if ["transfer", "mailbox", "holder"].contains(&item.kind.as_str()))
        });
        if step && self.armed.swap(false, Ordering::SeqCst) {
            return Err(BackendError::Unavailable("injected failure".into()));
        }
        Ok(())
    }
}

/// The gateway surface with every write failed once first.
struct Faulty {
    inner: GatewaySurface,
    failure: Arc<Hooked<StepFailure>>,
    store: Arc<TableStore>,
    failed: AtomicUsize,
}

impl Faulty {
    /// Everything a step may write, as JSON: the account's requests (each whole, with its
    /// version and its outbox), mailboxes, domains, holders' list and operations.
    async fn state(&self) -> Value {
        let mut all = json!({});
        for name in ["demo", "demo2"] {
            let account = AccountId::parse(name).unwrap();
            let page = PageRequest::parse(Some("100"), None).unwrap();
            let listed = self.store.transfers(&account, &[], &page).await.unwrap();
            let mut requests = Vec::new();
            for summary in &listed.items {
                let t = self.store.transfer(&summary.id).await.unwrap().unwrap();
                let outbox: Vec<String> = self
                    .store
                    .outbox_messages(&summary.id)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|m| m.id)
                    .collect();
                requests.push(json!({"version": t.version, "request": t.value, "outbox": outbox}));
            }
            let mailboxes = self
                .store
                .mailboxes(&account, &ItemFilter::default(), &page)
                .await
                .unwrap();
            let domains = self
                .store
                .domains(&account, &ItemFilter::default(), &page)
                .await
                .unwrap();
            let operations = self.store.operations(&account, &page).await.unwrap();
            all[name] = json!({
                "requests": requests,
                "mailboxes": mailboxes.items,
                "domains": domains.items,
                "operations": operations.items,
            });
        }
        all
    }
}

#[async_trait]
impl Surface for Faulty {
    async fn call(&self, method: &str, path: &str, who: As<'_>, body: Option<Value>) -> Reply {
        if method == "GET" {
            return self.inner.call(method, path, who, body).await;
        }
        let before = self.state().await;
        self.failure.hook.armed.store(true, Ordering::SeqCst);
        let first = self.inner.call(method, path, who, body.clone()).await;
        if !self.failure.hook.armed.swap(false, Ordering::SeqCst) {
            // The step reached its write, and the write failed.
            assert_eq!(first.status, 503, "{method} {path}: {}", first.body);
            assert_eq!(first.body["type"], "urn:titolare:problem:unavailable");
            assert_eq!(
                self.state().await,
                before,
                "{method} {path} left something behind"
            );
            self.failed.fetch_add(1, Ordering::SeqCst);
            return self.inner.call(method, path, who, body).await;
        }
        // No write was tried (a refused input, a repeat): the answer stands.
        first
    }
    async fn code(&self, transfer: &str, party: &str, channel: &str, to: &str) -> String {
        self.inner.code(transfer, party, channel, to).await
    }
    async fn link(&self, transfer: &str, party: &str, to: &str) -> String {
        self.inner.link(transfer, party, to).await
    }
    async fn reset_token(&self, account: &str, mailbox: &str, to: &str) -> String {
        self.inner.reset_token(account, mailbox, to).await
    }
    async fn emails_to(&self, to: &str) -> Vec<Value> {
        self.inner.emails_to(to).await
    }
    async fn advance(&self, seconds: i64) {
        self.inner.advance(seconds).await
    }
}

#[tokio::test]
async fn every_write_of_seed_000_fails_once_and_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("titolare-faults-{}", std::process::id()));
    let embedded =
        titolare_store_embedded::EmbeddedBackend::open(&dir.join("faults.redb")).unwrap();
    let failure = Arc::new(Hooked::around(
        Arc::new(embedded),
        StepFailure {
            armed: AtomicBool::new(false),
        },
    ));
    let gw = titolare_e2e::local_gateway_on(failure.clone(), Default::default()).await;
    let faulty = Faulty {
        inner: GatewaySurface::new(gw.client.clone()),
        failure,
        store: gw.server().store.clone(),
        failed: AtomicUsize::new(0),
    };
    flow::full_success(&faulty).await;
    let failed = faulty.failed.load(Ordering::SeqCst);
    // Draft, the initiator's code and its verification, the current holder's decisions, code
    // and verification, the new holder's (a privato) decisions, contract, two codes and two
    // verifications, and the password reset.
    assert_eq!(failed, 13, "every step's write was failed once");
    println!("{failed} step writes failed once each, then succeeded");
}
