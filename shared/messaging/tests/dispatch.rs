//! The dispatcher over the embedded store: one send per record however often it runs,
//! failures recorded as "non consegnato", and a resend that then goes through.

use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use titolare_domain::otp::*;
use titolare_domain::outbox::{DeliveryStatus, OutboxMessage};
use titolare_domain::ports::*;
use titolare_domain::secret::SecretKey;
use titolare_messaging::{DispatchError, Dispatched, Dispatcher, Envelope, Messenger, SendError};
use titolare_store::TableStore;
use titolare_store::clock::FixedClock;
use titolare_store::conformance::{NOW, sample_transfer};
use titolare_store_embedded::EmbeddedBackend;

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Envelope>>,
    down: AtomicBool,
}

#[async_trait]
impl Messenger for Recorder {
    async fn send(&self, envelope: &Envelope) -> Result<String, SendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError {
                provider: "sns",
                reason: "Throttling".into(),
            });
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(envelope.clone());
        Ok(format!("id-{}", sent.len()))
    }
}

struct World {
    store: Arc<TableStore>,
    clock: Arc<FixedClock>,
    recorder: Arc<Recorder>,
    dispatcher: Dispatcher,
    key: SecretKey,
}

fn world() -> World {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "titolare-dispatch-{}/{}.redb",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    // A process id comes back (a test is a process under nextest): clear what an earlier
    // process of the same id left.
    let _ = std::fs::remove_file(&path);
    let clock = Arc::new(FixedClock::at(NOW));
    let store = Arc::new(TableStore::new(
        Arc::new(EmbeddedBackend::open(&path).unwrap()),
        clock.clone(),
    ));
    let recorder = Arc::new(Recorder::default());
    let key = SecretKey::from_bytes(&[5; 32]).unwrap();
    let dispatcher = Dispatcher::new(store.clone(), recorder.clone(), key.clone(), clock.clone())
        .with_retries(3, Duration::from_millis(1));
    World {
        store,
        clock,
        recorder,
        dispatcher,
        key,
    }
}

impl World {
    async fn dispatch(&self, message: &OutboxMessage) -> Result<Dispatched, DispatchError> {
        self.dispatcher
            .dispatch(&message.transfer, &message.id)
            .await
    }

    async fn challenge(&self, message: &OutboxMessage) -> Versioned<Challenge> {
        self.store
            .challenge(&message.transfer, Party::CurrentHolder, Channel::Sms)
            .await
            .unwrap()
            .unwrap()
    }

    async fn stored(&self, message: &OutboxMessage) -> OutboxMessage {
        self.store
            .outbox_message(&message.transfer, &message.id)
            .await
            .unwrap()
            .unwrap()
            .value
    }
}

/// A request with one SMS code sent to its current holder; returns the outbox message.
async fn send_code(w: &World, previous: Option<&Versioned<Challenge>>) -> OutboxMessage {
    let account = titolare_domain::AccountId::parse("acc").unwrap();
    let transfer = match w
        .store
        .transfer(&titolare_domain::transfer::TransferId::from_number(7))
        .await
        .unwrap()
    {
        Some(t) => t,
        None => {
            w.store
                .put_transfer(&sample_transfer(7, &account, NOW + 86_400))
                .await
                .unwrap();
            w.store
                .transfer(&titolare_domain::transfer::TransferId::from_number(7))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let t = &transfer.value;
    let now = w.clock.now();
    let challenge = Challenge::send(
        previous.map(|p| &p.value),
        &t.id,
        Party::CurrentHolder,
        Channel::Sms,
        t.current_holder.mobile.as_str(),
        now,
        &CodePolicy::default(),
    )
    .unwrap();
    let message = OutboxMessage::code(&challenge, t, now);
    titolare_store::conformance::record_send(
        &*w.store,
        &transfer,
        previous.map(|p| p.version),
        &challenge,
        &message,
    )
    .await
    .unwrap();
    message
}

#[tokio::test]
async fn a_record_is_sent_once_with_the_derivable_code() {
    let w = world();
    let message = send_code(&w, None).await;
    assert_eq!(w.dispatch(&message).await.unwrap(), Dispatched::Sent);
    assert_eq!(w.dispatch(&message).await.unwrap(), Dispatched::AlreadySent);
    let sent = w.recorder.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "a second delivery sends nothing");
    let challenge = w.challenge(&message).await;
    let code = challenge.value.code(&w.key);
    assert!(sent[0].text.contains(code.reveal()));
    assert_eq!(sent[0].to, "+393330000002");
    assert_eq!(challenge.value.delivery, Delivery::Sent);
    let stored = w.stored(&message).await;
    assert_eq!(stored.status, DeliveryStatus::Sent);
    assert_eq!(stored.to, None, "the destination is dropped once sent");
    assert_eq!(stored.provider_id.as_deref(), Some("id-1"));
    let stored_json = serde_json::to_string(&stored).unwrap();
    assert!(!stored_json.contains(code.reveal()), "no code at rest");
    let (approved, ok) =
        challenge
            .value
            .verify(code.reveal(), w.clock.now(), &w.key, &CodePolicy::default());
    assert!(ok.is_ok() && approved.is_some());
}

#[tokio::test]
async fn a_failed_send_is_recorded_and_a_resend_goes_through() {
    let w = world();
    w.recorder.down.store(true, Ordering::SeqCst);
    let message = send_code(&w, None).await;
    let err = w
        .dispatcher
        .dispatch(&message.transfer, &message.id)
        .await
        .unwrap_err();
    assert!(matches!(err, DispatchError::Send(_)));
    let stored = w.stored(&message).await;
    assert_eq!(stored.status, DeliveryStatus::Failed);
    assert_eq!(stored.attempts, 1);
    assert!(
        !stored.error.as_deref().unwrap().contains("+39"),
        "the error names no recipient"
    );
    let challenge = w.challenge(&message).await;
    assert_eq!(challenge.value.delivery, Delivery::Failed, "non consegnato");
    // The state change stays committed; the user resends at once (no 60 s wait after a failure).
    w.recorder.down.store(false, Ordering::SeqCst);
    w.clock.set(NOW + 5);
    let resent = send_code(&w, Some(&challenge)).await;
    assert_eq!(w.dispatch(&resent).await.unwrap(), Dispatched::Sent);
    // A stream retry of the failed record does not send its void code.
    assert_eq!(w.dispatch(&message).await.unwrap(), Dispatched::Superseded);
    assert_eq!(w.recorder.sent.lock().unwrap().len(), 1);
    let now = w.challenge(&message).await.value;
    assert_eq!((now.sends, now.delivery), (2, Delivery::Sent));
}

#[tokio::test]
async fn concurrent_dispatches_send_once() {
    let w = Arc::new(world());
    let message = send_code(&w, None).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (w, message) = (w.clone(), message.clone());
        tasks.push(tokio::spawn(
            async move { w.dispatch(&message).await.unwrap() },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(w.recorder.sent.lock().unwrap().len(), 1);
}

/// A provider call that never answers: the invocation dies of its time limit mid-send.
struct Hangs;

#[async_trait]
impl Messenger for Hangs {
    async fn send(&self, _: &Envelope) -> Result<String, SendError> {
        std::future::pending().await
    }
}

fn stream_event(message: &OutboxMessage) -> titolare_messaging::stream::StreamEvent {
    serde_json::from_value(serde_json::json!({"Records": [{
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {
                "pk": {"S": format!("TRANSFER#{}", message.transfer.as_str())},
                "sk": {"S": format!("OUTBOX#{}", message.id)},
            },
            "SequenceNumber": "100",
        },
    }]}))
    .unwrap()
}

#[tokio::test]
async fn a_dispatcher_that_dies_after_its_claim_loses_nothing() {
    let w = world();
    let message = send_code(&w, None).await;
    let dying = Dispatcher::new(
        w.store.clone(),
        Arc::new(Hangs),
        w.key.clone(),
        w.clock.clone(),
    );
    let died = tokio::time::timeout(
        Duration::from_millis(100),
        dying.dispatch(&message.transfer, &message.id),
    )
    .await;
    assert!(died.is_err(), "the first invocation died after its claim");
    assert_eq!(w.stored(&message).await.status, DeliveryStatus::Sending);

    // The stream's retry meets the claim: it hands the record back to Lambda, not "done".
    let retry = titolare_messaging::stream::handle(&w.dispatcher, &stream_event(&message)).await;
    assert_eq!(retry.batch_item_failures.len(), 1, "reported for a retry");
    // Until the claim lapses the sweep leaves it to its owner, even a second before: a claim
    // must outlast the longest run of the function that holds it (a shorter one would send
    // twice).
    w.clock.set(NOW + 119);
    assert_eq!(
        w.dispatcher.sweep(10).await.unwrap(),
        titolare_messaging::SweepReport::default()
    );
    assert!(w.recorder.sent.lock().unwrap().is_empty());

    // Once the claim lapses, the sweep sends it; nothing sends it again.
    w.clock.set(NOW + 121);
    assert_eq!(w.dispatcher.sweep(10).await.unwrap().sent, 1);
    assert_eq!(
        w.dispatcher.sweep(10).await.unwrap(),
        titolare_messaging::SweepReport::default(),
        "settled: out of the unsent index"
    );
    let late = titolare_messaging::stream::handle(&w.dispatcher, &stream_event(&message)).await;
    assert!(late.batch_item_failures.is_empty());
    assert_eq!(
        w.recorder.sent.lock().unwrap().len(),
        1,
        "sent exactly once"
    );
    assert_eq!(w.stored(&message).await.status, DeliveryStatus::Sent);
    assert_eq!(w.challenge(&message).await.value.delivery, Delivery::Sent);
}

#[tokio::test]
async fn a_message_the_stream_never_delivered_is_swept_after_its_lease() {
    let w = world();
    let message = send_code(&w, None).await;
    w.clock.set(NOW + 119);
    assert_eq!(w.dispatcher.sweep(10).await.unwrap().sent, 0, "not yet due");
    w.clock.set(NOW + 120);
    assert_eq!(w.dispatcher.sweep(10).await.unwrap().sent, 1);
    assert_eq!(w.dispatch(&message).await.unwrap(), Dispatched::AlreadySent);
    assert_eq!(w.recorder.sent.lock().unwrap().len(), 1);
}

/// A provider that fails its first `failures` calls, then accepts; it counts every call.
struct Flaky {
    failures: usize,
    calls: std::sync::atomic::AtomicUsize,
    accepted: Mutex<Vec<Envelope>>,
}

impl Flaky {
    fn failing(failures: usize) -> Arc<Self> {
        Arc::new(Self {
            failures,
            calls: Default::default(),
            accepted: Default::default(),
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Messenger for Flaky {
    async fn send(&self, envelope: &Envelope) -> Result<String, SendError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(SendError {
                provider: "sns",
                reason: "Throttling".into(),
            });
        }
        self.accepted.lock().unwrap().push(envelope.clone());
        Ok("provider-id".into())
    }
}

fn dispatcher_over(w: &World, provider: Arc<Flaky>) -> Dispatcher {
    Dispatcher::new(w.store.clone(), provider, w.key.clone(), w.clock.clone())
        .with_retries(3, Duration::from_millis(1))
}

/// Three tries per message: two failures then an answer is one message sent, recorded
/// `sent`, and nothing for Lambda to retry.
#[tokio::test]
async fn a_provider_failing_twice_then_answering_sends_once() {
    let w = world();
    let message = send_code(&w, None).await;
    let provider = Flaky::failing(2);
    let dispatcher = dispatcher_over(&w, provider.clone());
    let response = titolare_messaging::stream::handle(&dispatcher, &stream_event(&message)).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": []})
    );
    assert_eq!(provider.calls(), 3, "two failures and the answer");
    assert_eq!(provider.accepted.lock().unwrap().len(), 1, "sent once");
    let stored = w.stored(&message).await;
    assert_eq!(
        (stored.status, stored.attempts, stored.error),
        (DeliveryStatus::Sent, 1, None)
    );
    assert_eq!(w.challenge(&message).await.value.delivery, Delivery::Sent);
    // A redelivery of the same record sends nothing more.
    titolare_messaging::stream::handle(&dispatcher, &stream_event(&message)).await;
    assert_eq!(provider.calls(), 3);
}

/// A provider that never answers gets three tries, no more; the message is recorded
/// `failed` ("non consegnato") and Lambda is told this record failed, so it retries it and
/// finally hands it to the dead-letter queue.
#[tokio::test]
async fn a_provider_always_failing_is_recorded_failed_and_reported_to_lambda() {
    let w = world();
    let message = send_code(&w, None).await;
    let provider = Flaky::failing(usize::MAX);
    let dispatcher = dispatcher_over(&w, provider.clone());
    let response = titolare_messaging::stream::handle(&dispatcher, &stream_event(&message)).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "100"}]}),
        "the partial batch response Lambda reads"
    );
    assert_eq!(provider.calls(), 3, "three tries");
    let stored = w.stored(&message).await;
    assert_eq!(stored.status, DeliveryStatus::Failed);
    assert_eq!(stored.attempts, 1);
    assert!(stored.error.as_deref().unwrap().contains("Throttling"));
    assert_eq!(w.challenge(&message).await.value.delivery, Delivery::Failed);
    assert!(provider.accepted.lock().unwrap().is_empty());
}
