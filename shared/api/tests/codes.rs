//! One-time codes and link tokens through the real handlers, with a clock the test moves:
//! every rule of docs/rules.md (codes) and OWASP ASVS §2.7 / NIST SP 800-63B §5.1.3 as the
//! API applies it.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use std::sync::Arc;
use titolare_api::{App, Services};
use titolare_domain::AccountId;
use titolare_domain::otp::{Channel, Party};
use titolare_domain::ports::{ChallengeStore, Fixtures, OutboxStore, TransferReader};
use titolare_domain::secret::SecretKey;
use titolare_domain::transfer::{LinkToken, Transfer, TransferStatus};
use titolare_store::clock::FixedClock;
use titolare_store::conformance::{NOW, sample_draft, sample_transfer};
use titolare_store::probes::FailingBackend;
use titolare_store::{ItemBackend, TableStore};
use titolare_store_embedded::EmbeddedBackend;

enum Who<'a> {
    Account(&'a str),
    Link(&'a str),
    Nobody,
}

struct World {
    app: App,
    store: Arc<TableStore>,
    clock: Arc<FixedClock>,
    failing: Arc<FailingBackend>,
    key: SecretKey,
}

fn world() -> World {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("titolare-codes-{}/{n}.redb", std::process::id()));
    // A process id comes back (a test is a process under nextest): clear what an earlier
    // process of the same id left.
    let _ = std::fs::remove_file(&path);
    let clock = Arc::new(FixedClock::at(NOW));
    let embedded: Arc<dyn ItemBackend> = Arc::new(EmbeddedBackend::open(&path).unwrap());
    let failing = Arc::new(FailingBackend::new(embedded));
    let store = Arc::new(TableStore::new(failing.clone(), clock.clone()));
    let key = SecretKey::from_bytes(&[4; 32]).unwrap();
    let app = App::new(Services {
        store: store.clone(),
        clock: clock.clone(),
        key: Some(key.clone()),
        codes: Default::default(),
        rules: Default::default(),
        metrics: std::sync::Arc::new(titolare_domain::metrics::NoMetrics),
    });
    World {
        app,
        store,
        clock,
        failing,
        key,
    }
}

impl World {
    /// A request of account "acc", draft (the initiator's phase) or open (the holders').
    async fn transfer(&self, id: u64, status: TransferStatus) -> Transfer {
        let account = AccountId::parse("acc").unwrap();
        let mut t = match status {
            TransferStatus::Draft => sample_draft(id, &account, NOW + 5 * 86_400),
            _ => sample_transfer(id, &account, NOW + 5 * 86_400),
        };
        t.status = status;
        self.store.put_transfer(&t).await.unwrap();
        t
    }

    fn at(&self, seconds: i64) {
        self.clock.set(NOW + seconds);
    }

    async fn call(&self, path: &str, who: Who<'_>, body: Value) -> (u16, Value, http::HeaderMap) {
        self.request("POST", path, who, Some(body)).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        who: Who<'_>,
        body: Option<Value>,
    ) -> (u16, Value, http::HeaderMap) {
        let builder = http::Request::builder().method(method).uri(path);
        let mut req: Request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::Text(body.to_string())),
            None => builder.body(Body::Empty),
        }
        .unwrap();
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        static REQUESTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        ctx.request_id = Some(format!(
            "r{}",
            REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        match who {
            Who::Account(account) => {
                let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
                jwt.claims.insert("sub".into(), account.into());
                let mut authorizer = ApiGatewayRequestAuthorizer::default();
                authorizer.jwt = Some(jwt);
                ctx.authorizer = Some(authorizer);
            }
            Who::Link(token) => {
                req.headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse().unwrap());
            }
            Who::Nobody => {}
        }
        req.extensions_mut()
            .insert(RequestContext::ApiGatewayV2(ctx));
        let response = self.app.handle(req).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let Body::Text(text) = response.body() else {
            panic!("no body")
        };
        (status, serde_json::from_str(text).unwrap(), headers)
    }

    async fn initiator(
        &self,
        t: &Transfer,
        action: &str,
        body: Value,
    ) -> (u16, Value, http::HeaderMap) {
        self.call(
            &format!("/v1/transfers/{}/{action}", t.id.as_str()),
            Who::Account("acc"),
            body,
        )
        .await
    }

    async fn holder(
        &self,
        t: &Transfer,
        party: Party,
        action: &str,
        body: Value,
    ) -> (u16, Value, http::HeaderMap) {
        let token = LinkToken::issue(&self.key, &t.id, party);
        self.call(&format!("/v1/party/{action}"), Who::Link(&token), body)
            .await
    }

    /// `GET /v1/transfers/{id}/codes` as the initiator.
    async fn code_status(&self, t: &Transfer) -> (u16, Value) {
        let (status, body, _) = self
            .request(
                "GET",
                &format!("/v1/transfers/{}/codes", t.id.as_str()),
                Who::Account("acc"),
                None,
            )
            .await;
        (status, body)
    }

    /// The code the last message of a challenge carried, derived as the dispatcher does.
    async fn code(&self, t: &Transfer, party: Party, channel: Channel) -> String {
        self.store
            .challenge(&t.id, party, channel)
            .await
            .unwrap()
            .unwrap()
            .value
            .code(&self.key)
            .reveal()
            .to_owned()
    }
}

fn sms() -> Value {
    json!({"channel": "sms"})
}

fn verify(channel: &str, code: &str) -> Value {
    json!({"channel": channel, "code": code})
}

fn wrong(right: &str) -> String {
    format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn a_code_expires_at_ten_minutes_exactly() {
    let w = world();
    let (a, b) = (
        w.transfer(1, TransferStatus::Draft).await,
        w.transfer(2, TransferStatus::Draft).await,
    );
    assert_eq!(w.initiator(&a, "codes", sms()).await.0, 202);
    assert_eq!(w.initiator(&b, "codes", sms()).await.0, 202);
    w.at(599);
    let (status, body, _) = w
        .initiator(
            &a,
            "codes/verify",
            verify("sms", &w.code(&a, Party::Initiator, Channel::Sms).await),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (200, Some("approved")));
    assert_eq!(
        body["status"], "open",
        "the initiator's code opens the request"
    );
    w.at(600);
    let (status, body, _) = w
        .initiator(
            &b,
            "codes/verify",
            verify("sms", &w.code(&b, Party::Initiator, Channel::Sms).await),
        )
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (422, Some("urn:titolare:problem:code-expired"))
    );
}

#[tokio::test]
async fn the_sixth_try_is_refused_even_with_the_right_code() {
    let w = world();
    let t = w.transfer(3, TransferStatus::Draft).await;
    w.initiator(&t, "codes", sms()).await;
    let right = w.code(&t, Party::Initiator, Channel::Sms).await;
    for left in (0..5).rev() {
        let (status, body, _) = w
            .initiator(&t, "codes/verify", verify("sms", &wrong(&right)))
            .await;
        assert_eq!(status, 422);
        let expected = match left {
            0 => "Codice errato: nessun tentativo rimasto, chiedi un nuovo codice.".to_owned(),
            1 => "Codice errato: resta 1 tentativo.".to_owned(),
            n => format!("Codice errato: restano {n} tentativi."),
        };
        assert_eq!(body["errors"]["code"], expected);
    }
    let (status, body, _) = w.initiator(&t, "codes/verify", verify("sms", &right)).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (429, Some("urn:titolare:problem:too-many-requests"))
    );
}

#[tokio::test]
async fn the_sixth_send_is_refused_and_resends_wait_sixty_seconds() {
    let w = world();
    let t = w.transfer(4, TransferStatus::Draft).await;
    assert_eq!(w.initiator(&t, "codes", sms()).await.0, 202);
    w.at(59);
    let (status, _, headers) = w.initiator(&t, "codes", sms()).await;
    assert_eq!(
        (status, headers["retry-after"].to_str().unwrap()),
        (429, "1")
    );
    for n in 1..5 {
        w.at(60 * n);
        let (status, body, _) = w.initiator(&t, "codes", sms()).await;
        assert_eq!(status, 202, "send {}", n + 1);
        assert_eq!(body["sends_left"], 4 - n);
    }
    w.at(10_000);
    let (status, body, _) = w.initiator(&t, "codes", sms()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(w.store.outbox_messages(&t.id).await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_verified_code_sent_again_is_answered_as_the_first_and_another_is_refused() {
    let w = world();
    let t = w.transfer(5, TransferStatus::Draft).await;
    w.initiator(&t, "codes", sms()).await;
    let code = w.code(&t, Party::Initiator, Channel::Sms).await;
    let (status, first, _) = w.initiator(&t, "codes/verify", verify("sms", &code)).await;
    assert_eq!(status, 200, "{first}");
    let (status, again, _) = w.initiator(&t, "codes/verify", verify("sms", &code)).await;
    assert_eq!((status, &again), (200, &first));
    let opened = w.store.transfer(&t.id).await.unwrap().unwrap().value;
    let verified = opened
        .audit
        .iter()
        .filter(|a| a.action == titolare_domain::transfer::AuditAction::SmsVerified);
    assert_eq!(verified.count(), 1, "one effect");
    let other = if code == "000000" { "111111" } else { "000000" };
    let (status, body, _) = w.initiator(&t, "codes/verify", verify("sms", other)).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (409, Some("urn:titolare:problem:code-already-used"))
    );
}

#[tokio::test]
async fn an_sms_code_is_refused_on_email_and_on_another_transfer() {
    let w = world();
    let (t, other) = (
        w.transfer(6, TransferStatus::Open).await,
        w.transfer(7, TransferStatus::Open).await,
    );
    assert_eq!(w.holder(&t, Party::NewHolder, "codes", sms()).await.0, 202);
    let sms_code = w.code(&t, Party::NewHolder, Channel::Sms).await;
    let (status, _, _) = w
        .holder(
            &t,
            Party::NewHolder,
            "codes/verify",
            verify("email", &sms_code),
        )
        .await;
    assert_eq!(status, 409, "no email code was sent");
    assert_eq!(
        w.holder(
            &t,
            Party::NewHolder,
            "codes/verify",
            verify("sms", &sms_code)
        )
        .await
        .0,
        200,
        "the email comes after the mobile"
    );
    let (status, body, _) = w
        .holder(&t, Party::NewHolder, "codes", json!({"channel": "email"}))
        .await;
    assert_eq!(
        (status, body["destination"].as_str()),
        (202, Some("p***@example.it"))
    );
    let email_code = w.code(&t, Party::NewHolder, Channel::Email).await;
    if email_code != sms_code {
        assert_eq!(
            w.holder(
                &t,
                Party::NewHolder,
                "codes/verify",
                verify("email", &sms_code)
            )
            .await
            .0,
            422
        );
    }
    assert_eq!(
        w.holder(&other, Party::NewHolder, "codes", sms()).await.0,
        202
    );
    let other_code = w.code(&other, Party::NewHolder, Channel::Sms).await;
    if other_code != sms_code {
        assert_eq!(
            w.holder(
                &other,
                Party::NewHolder,
                "codes/verify",
                verify("sms", &sms_code)
            )
            .await
            .0,
            422,
            "a code of one request on another"
        );
    }
    assert_eq!(
        w.holder(
            &t,
            Party::NewHolder,
            "codes/verify",
            verify("email", &email_code)
        )
        .await
        .0,
        200
    );
    // The current holder verifies by SMS only.
    let (status, body, _) = w
        .holder(
            &t,
            Party::CurrentHolder,
            "codes",
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!((status, body["errors"]["channel"].is_string()), (422, true));
}

#[tokio::test]
async fn twenty_concurrent_right_codes_approve_once() {
    let w = Arc::new(world());
    let t = w.transfer(8, TransferStatus::Open).await;
    w.holder(&t, Party::CurrentHolder, "codes", sms()).await;
    let code = w.code(&t, Party::CurrentHolder, Channel::Sms).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (w, t, code) = (w.clone(), t.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            w.holder(
                &t,
                Party::CurrentHolder,
                "codes/verify",
                verify("sms", &code),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    // Each is answered as a success (the first applied, the others as its repeats, or a
    // 409 when one lost a race before the first was stored); the step happened once.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    let after = w.store.transfer(&t.id).await.unwrap().unwrap().value;
    let verified = after.audit.iter().filter(|a| {
        a.action == titolare_domain::transfer::AuditAction::SmsVerified
            && a.party == Some(Party::CurrentHolder)
    });
    assert_eq!(verified.count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn a_new_destination_voids_the_pending_code_and_only_allowed_countries_get_sms() {
    let w = world();
    let t = w.transfer(9, TransferStatus::Draft).await;
    w.initiator(&t, "codes", sms()).await;
    let old = w.code(&t, Party::Initiator, Channel::Sms).await;
    let (status, body, _) = w
        .initiator(
            &t,
            "codes",
            json!({"channel": "sms", "phone": "+44 7400 123456"}),
        )
        .await;
    assert_eq!(
        (status, body["errors"]["phone"].is_string()),
        (422, true),
        "{body}"
    );
    let (status, body, _) = w
        .initiator(
            &t,
            "codes",
            json!({"channel": "sms", "phone": "06 1234 5678"}),
        )
        .await;
    assert_eq!(
        (status, body["errors"]["phone"].as_str()),
        (422, Some("Il numero non è di un cellulare."))
    );
    w.at(60);
    let (status, body, _) = w
        .initiator(
            &t,
            "codes",
            json!({"channel": "sms", "phone": "+39 347 765 4321"}),
        )
        .await;
    assert_eq!(
        (status, body["destination"].as_str()),
        (202, Some("+39*****321"))
    );
    let new = w.code(&t, Party::Initiator, Channel::Sms).await;
    if new != old {
        assert_eq!(
            w.initiator(&t, "codes/verify", verify("sms", &old)).await.0,
            422,
            "the old code is void"
        );
    }
    assert_eq!(
        w.initiator(&t, "codes/verify", verify("sms", &new)).await.0,
        200
    );
}

#[tokio::test]
async fn link_tokens_open_only_their_transfer_and_tell_why_they_stopped() {
    let w = world();
    let t = w.transfer(10, TransferStatus::Open).await;
    let good = LinkToken::issue(&w.key, &t.id, Party::CurrentHolder);
    let forged = good.replace(".ch.", ".nh.");
    let unknown = LinkToken::issue(
        &w.key,
        &titolare_domain::transfer::TransferId::from_number(999),
        Party::CurrentHolder,
    );
    let other_key = LinkToken::issue(
        &SecretKey::from_bytes(&[5; 32]).unwrap(),
        &t.id,
        Party::CurrentHolder,
    );
    let mut answers = Vec::new();
    for token in [
        forged.as_str(),
        unknown.as_str(),
        other_key.as_str(),
        "garbage",
    ] {
        let (status, mut body, _) = w.call("/v1/party/codes", Who::Link(token), sms()).await;
        body.as_object_mut().unwrap().remove("request_id");
        answers.push((status, body));
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "the same 401 for all: {answers:?}"
    );
    assert_eq!(answers[0].0, 401);
    let (status, _, _) = w.call("/v1/party/codes", Who::Account("acc"), sms()).await;
    assert_eq!(status, 401, "an account login is not a link");
    assert_eq!(
        w.call("/v1/party/codes", Who::Link(&good), sms()).await.0,
        202
    );
    // The initiator's route belongs to the initiator's account only.
    assert_eq!(
        w.call(
            &format!("/v1/transfers/{}/codes", t.id.as_str()),
            Who::Account("other"),
            sms()
        )
        .await
        .0,
        404
    );
    // After the deadline: 410; after another ending: 409; and nothing changes.
    w.at(5 * 86_400);
    let (status, body, _) = w
        .call(
            "/v1/party/codes/verify",
            Who::Link(&good),
            verify("sms", "123456"),
        )
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (410, Some("urn:titolare:problem:deadline-passed"))
    );
    w.at(100);
    let mut cancelled = t.clone();
    cancelled.status = TransferStatus::Cancelled;
    w.store.put_transfer(&cancelled).await.unwrap();
    let (status, body, _) = w.call("/v1/party/codes", Who::Link(&good), sms()).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (409, Some("urn:titolare:problem:request-ended"))
    );
    assert!(body["detail"].as_str().unwrap().contains("annullata"));
    assert_eq!(w.store.outbox_messages(&t.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_store_transaction_sends_nothing() {
    let w = world();
    let t = w.transfer(11, TransferStatus::Draft).await;
    w.failing.fail_after(0);
    let (status, body, _) = w.initiator(&t, "codes", sms()).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (503, Some("urn:titolare:problem:unavailable"))
    );
    assert!(
        w.store.outbox_messages(&t.id).await.unwrap().is_empty(),
        "no message without its state change"
    );
    assert!(
        w.store
            .challenge(&t.id, Party::Initiator, Channel::Sms)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        w.initiator(&t, "codes", sms()).await.0,
        202,
        "a retry works"
    );
}

#[tokio::test]
async fn bad_code_bodies_are_4xx() {
    let w = world();
    let t = w.transfer(12, TransferStatus::Draft).await;
    for (body, status) in [
        (json!({"channel": "fax"}), 400),
        (json!({"channel": "sms", "extra": 1}), 400),
        (json!({"channel": "email", "phone": "+39 333 1234567"}), 400),
        (json!({}), 400),
    ] {
        assert_eq!(
            w.initiator(&t, "codes", body.clone()).await.0,
            status,
            "{body}"
        );
    }
    w.initiator(&t, "codes", sms()).await;
    for (body, status) in [
        (verify("sms", "12345"), 400),
        (verify("sms", "abcdef"), 400),
        (json!({"channel": "sms"}), 400),
    ] {
        assert_eq!(
            w.initiator(&t, "codes/verify", body.clone()).await.0,
            status,
            "{body}"
        );
    }
    let right = w.code(&t, Party::Initiator, Channel::Sms).await;
    assert_eq!(
        w.initiator(&t, "codes/verify", verify("sms", &right))
            .await
            .0,
        200,
        "format errors cost no try"
    );
    // The initiator's codes belong to the draft; an open request's initiator is verified already.
    let open = w.transfer(13, TransferStatus::Open).await;
    assert_eq!(w.initiator(&open, "codes", sms()).await.0, 409);
    let draft = w.transfer(14, TransferStatus::Draft).await;
    assert_eq!(
        w.holder(&draft, Party::CurrentHolder, "codes", sms())
            .await
            .0,
        409,
        "holders wait for the request to open"
    );
}

struct Down;

#[async_trait::async_trait]
impl titolare_messaging::Messenger for Down {
    async fn send(
        &self,
        _: &titolare_messaging::Envelope,
    ) -> Result<String, titolare_messaging::SendError> {
        Err(titolare_messaging::SendError {
            provider: "sns",
            reason: "Throttling".into(),
        })
    }
}

#[tokio::test]
async fn an_undelivered_code_shows_as_such_and_may_be_resent_at_once() {
    let w = world();
    let t = w.transfer(14, TransferStatus::Draft).await;
    assert_eq!(w.code_status(&t).await.1["items"], json!([]));
    assert_eq!(w.initiator(&t, "codes", sms()).await.0, 202);
    let (code, body) = w.code_status(&t).await;
    assert_eq!(
        (
            code,
            body["items"][0]["delivery"].as_str(),
            body["items"][0]["status"].as_str()
        ),
        (200, Some("queued"), Some("pending"))
    );
    let dispatcher = titolare_messaging::Dispatcher::new(
        w.store.clone(),
        Arc::new(Down),
        w.key.clone(),
        w.clock.clone(),
    )
    .with_retries(2, std::time::Duration::from_millis(1));
    let message = &w.store.outbox_messages(&t.id).await.unwrap()[0];
    assert!(dispatcher.dispatch(&t.id, &message.id).await.is_err());
    let (_, body) = w.code_status(&t).await;
    assert_eq!(body["items"][0]["delivery"], "failed");
    assert_eq!(
        body["items"][0]["notice"],
        "Non consegnato: chiedi un nuovo invio."
    );
    assert_eq!(body["items"][0]["destination"], "+39*****001");
    w.at(5);
    assert_eq!(
        w.initiator(&t, "codes", sms()).await.0,
        202,
        "no 60 s wait after a failed delivery"
    );
    assert_eq!(w.code_status(&t).await.1["items"][0]["sends_left"], 3);
}

/// A reset link works until 24 hours after its issue, to the second; a well-formed token with
/// a wrong tag, mailbox or account gets the very answer garbage gets.
#[tokio::test]
async fn a_reset_link_lives_86399_seconds_and_a_forged_one_is_garbage() {
    use titolare_domain::transfer::{PasswordResetToken, TransferId};
    use titolare_domain::values::EmailAddress;
    let w = world();
    let account = AccountId::parse("acc").unwrap();
    let issued = jiff::Timestamp::from_second(NOW).unwrap();
    let change = TransferId::parse("30").unwrap();
    // The completed change that moved both mailboxes (the new password becomes its command).
    let mut moved = sample_transfer(30, &account, NOW + 86_400);
    moved.status = titolare_domain::transfer::TransferStatus::Completed;
    moved.items = ["a@pec.it", "b@pec.it"]
        .iter()
        .map(|a| titolare_domain::transfer::TransferItem {
            item: titolare_domain::transfer::ItemRef::parse(
                titolare_domain::transfer::ItemKind::Mailbox,
                a,
            )
            .unwrap(),
            current_holder: Some(true),
            new_holder: Some(true),
            outcome: Some(titolare_domain::transfer::ItemOutcome::Moved),
        })
        .collect();
    w.store.put_transfer(&moved).await.unwrap();
    for address in ["a@pec.it", "b@pec.it"] {
        let mut m = titolare_store::conformance::sample_mailbox(address, "19");
        m.password_reset_required = true;
        m.password_reset_issued_at = Some(issued);
        m.moved_by = Some(change.clone());
        w.store.put_mailbox(&account, &m).await.unwrap();
    }
    let mailbox = EmailAddress::parse("a@pec.it").unwrap();
    let token = PasswordResetToken::issue(&w.key, &account, &mailbox, issued, &change);
    let set = |token: String| {
        let w = &w;
        async move {
            w.request(
                "POST",
                "/v1/password-reset",
                Who::Nobody,
                Some(json!({"token": token, "password": "Nuova-Password-7"})),
            )
            .await
        }
    };
    w.at(86_400);
    let (status, late, _) = set(token.clone()).await;
    assert_eq!(
        (status, late["type"].as_str()),
        (410, Some("urn:titolare:problem:link-expired"))
    );
    w.at(86_399);
    let (status, body, _) = set(token.clone()).await;
    assert_eq!(status, 200, "{body}");

    let (_, garbage, garbage_headers) = set("garbage".into()).await;
    let other_key = SecretKey::from_bytes(&[5; 32]).unwrap();
    let b = EmailAddress::parse("b@pec.it").unwrap();
    let elsewhere = AccountId::parse("other").unwrap();
    let mut swapped: Vec<&str> = token.split('.').collect();
    let b_token = PasswordResetToken::issue(&w.key, &account, &b, issued, &change);
    let b_mailbox = b_token.split('.').nth(1).unwrap().to_owned();
    swapped[1] = &b_mailbox;
    for forged in [
        PasswordResetToken::issue(&other_key, &account, &b, issued, &change),
        swapped.join("."),
        PasswordResetToken::issue(&w.key, &elsewhere, &b, issued, &change)
            .replace(&base64_of("other"), &base64_of("acc2")),
        // Signed, but for an account that does not hold the mailbox.
        PasswordResetToken::issue(&w.key, &elsewhere, &mailbox, issued, &change),
    ] {
        let (status, body, headers) = set(forged).await;
        assert_eq!(status, 401);
        assert_eq!(
            (&body["type"], &body["detail"], &headers["www-authenticate"]),
            (
                &garbage["type"],
                &garbage["detail"],
                &garbage_headers["www-authenticate"]
            )
        );
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The index by deadline names whole seconds; a deadline later in its second is not yet
/// due when the expirer runs at the start of that second. The entry must stay for the next
/// run (it was dropped, and the request then waited for the TTL backstop).
#[tokio::test]
async fn an_entry_due_later_in_its_second_waits_for_the_next_run() {
    let w = world();
    let account = AccountId::parse("acc").unwrap();
    let mut t = sample_transfer(8, &account, NOW + 10);
    t.deadline =
        jiff::Timestamp::from_second(NOW + 10).unwrap() + jiff::SignedDuration::from_millis(500);
    // Written as a step writes it: with its entry in the index by deadline.
    use titolare_domain::ports::{TransferCondition, TransferWriter};
    let new = titolare_domain::consequences::bookkept(TransferCondition::New, None, &t, None);
    w.store.commit(&new).await.unwrap();
    let rules = titolare_domain::steps::Rules::default();
    let run = || {
        titolare_api::lifecycle::expire_all_overdue(
            &*w.store,
            &titolare_domain::metrics::NoMetrics,
            &*w.clock,
            &rules,
            100,
            || true,
        )
    };
    w.at(10);
    let early = run().await.unwrap();
    assert_eq!((early.expired, early.skipped), (0, 1), "{early:?}");
    w.at(11);
    let due = run().await.unwrap();
    assert_eq!(due.expired, 1, "the entry was kept: {due:?}");
}
