//! The three-party change of holder driven over an HTTP surface, step by step: the
//! reference flow of docs/rules.md and its endings. The same flows run on the local gateway
//! (embedded store or DynamoDB) and on the real Lambda binaries.

use crate::Reply;
use async_trait::async_trait;
use serde_json::{Value, json};

/// Who makes a call.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    /// An account user (the JWT of this username).
    Account(&'a str),
    /// A holder, by the link token.
    Link(&'a str),
    /// The new holder logged in as an account, naming the request by its link token.
    AccountWithLink(&'a str, &'a str),
    Nobody,
}

/// An HTTP surface with a way to read what it sent people.
#[async_trait]
pub trait Surface: Send + Sync {
    async fn call(&self, method: &str, path: &str, who: As<'_>, body: Option<Value>) -> Reply;
    /// The code of the latest message on `channel` to `to` (an E.164 number or an address).
    async fn code(&self, transfer: &str, party: &str, channel: &str, to: &str) -> String;
    /// The link token emailed to `to` for a request.
    async fn link(&self, transfer: &str, party: &str, to: &str) -> String;
    /// The password-reset token of a mailbox emailed to `to`.
    async fn reset_token(&self, account: &str, mailbox: &str, to: &str) -> String;
    /// Every email sent to `to` so far, as `{subject, text}`.
    async fn emails_to(&self, to: &str) -> Vec<Value>;
    /// Moves the service's clock (local gateway only).
    async fn advance(&self, seconds: i64);
}

/// Contacts of the demo holders (infra/local/src/seed.rs).
pub struct Person {
    pub holder: &'static str,
    pub mobile: &'static str,
    pub email: &'static str,
}

pub const INITIATOR: Person = Person {
    holder: "19",
    mobile: "+393330000019",
    email: "test.test@example.it",
};
pub const AZIENDA: Person = Person {
    holder: "534905",
    mobile: "+393470534905",
    email: "amministrazione@testazienda.example.it",
};
pub const MARCO: Person = Person {
    holder: "900008",
    mobile: "+393330900008",
    email: "marco.test@example.it",
};
pub const TESTDUE: Person = Person {
    holder: "963300",
    mobile: "+393330963300",
    email: "testdue@example.it",
};

pub fn ok(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

/// The body of a draft that keeps management: these `(kind, id)` items to `new_holder`.
pub fn draft_body(items: &[(&str, &str)], new_holder: &str) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(kind, id)| json!({"kind": kind, "id": id}))
        .collect();
    json!({"items": items, "management": {"mode": "keep"}, "new_holder_id": new_holder})
}

/// Creates a draft as `demo` and verifies the initiator's mobile: the request is open.
pub async fn open_transfer(s: &dyn Surface, body: Value) -> String {
    let created = s
        .call("POST", "/v1/transfers", As::Account("demo"), Some(body))
        .await;
    ok(&created, 201, "draft");
    assert_eq!(created.body["status"], "draft");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let verified = verify_initiator(s, &id).await;
    ok(&verified, 200, "initiator verification");
    assert_eq!(verified.body["status"], "open");
    id
}

/// Sends the initiator's SMS code of draft `id` (as `demo`) and verifies it: the answer.
pub async fn verify_initiator(s: &dyn Surface, id: &str) -> Reply {
    let path = format!("/v1/transfers/{id}/codes");
    let sent = s
        .call(
            "POST",
            &path,
            As::Account("demo"),
            Some(json!({"channel": "sms"})),
        )
        .await;
    ok(&sent, 202, "initiator code");
    let code = s.code(id, "initiator", "sms", INITIATOR.mobile).await;
    s.call(
        "POST",
        &format!("{path}/verify"),
        As::Account("demo"),
        Some(json!({"channel": "sms", "code": code})),
    )
    .await
}

/// A holder's decisions, item → accept.
pub async fn decide(s: &dyn Surface, link: &str, decisions: &[(&str, bool)]) -> Reply {
    let decisions: Vec<Value> = decisions
        .iter()
        .map(|(item, accept)| json!({"item": item, "accept": accept}))
        .collect();
    s.call(
        "POST",
        "/v1/party/decisions",
        As::Link(link),
        Some(json!({ "decisions": decisions })),
    )
    .await
}

/// Asks for a holder's code without verifying it.
pub async fn verify_code_send_only(s: &dyn Surface, link: &str, channel: &str) -> Reply {
    s.call(
        "POST",
        "/v1/party/codes",
        As::Link(link),
        Some(json!({ "channel": channel })),
    )
    .await
}

/// Sends and verifies one code of a holder.
pub async fn verify_code(
    s: &dyn Surface,
    id: &str,
    link: &str,
    party: &str,
    channel: &str,
    to: &str,
) -> Reply {
    let sent = s
        .call(
            "POST",
            "/v1/party/codes",
            As::Link(link),
            Some(json!({ "channel": channel })),
        )
        .await;
    ok(&sent, 202, &format!("{party} {channel} code"));
    let code = s.code(id, party, channel, to).await;
    s.call(
        "POST",
        "/v1/party/codes/verify",
        As::Link(link),
        Some(json!({"channel": channel, "code": code})),
    )
    .await
}

/// The current holder's whole part: decisions, then SMS.
pub async fn current_holder_part(
    s: &dyn Surface,
    id: &str,
    holder: &Person,
    decisions: &[(&str, bool)],
) -> Reply {
    let link = s.link(id, "current_holder", holder.email).await;
    ok(
        &decide(s, &link, decisions).await,
        200,
        "current holder decisions",
    );
    verify_code(s, id, &link, "current_holder", "sms", holder.mobile).await
}

/// The new holder's whole part: decisions, login (hand_over), holder data (not privato),
/// contract, SMS, email. Returns the last answer.
pub async fn new_holder_part(
    s: &dyn Surface,
    id: &str,
    holder: &Person,
    decisions: &[(&str, bool)],
) -> Reply {
    let link = s.link(id, "new_holder", holder.email).await;
    ok(
        &decide(s, &link, decisions).await,
        200,
        "new holder decisions",
    );
    let party = s.call("GET", "/v1/party", As::Link(&link), None).await;
    ok(&party, 200, "party view");
    let left: Vec<String> = serde_json::from_value(party.body["steps_left"].clone()).unwrap();
    if left.iter().any(|s| s == "login") {
        let username = party.body["transfer"]["management"]["username"]
            .as_str()
            .unwrap()
            .to_owned();
        let login = s
            .call(
                "POST",
                "/v1/party/login",
                As::AccountWithLink(&username, &link),
                None,
            )
            .await;
        ok(&login, 200, "login as the named account");
    }
    if left.iter().any(|s| s == "holder_data") {
        assert_eq!(party.body["holder_data"]["editable"], false);
        let confirmed = s
            .call(
                "PUT",
                "/v1/party/holder-data",
                As::Link(&link),
                Some(json!({"confirm": true})),
            )
            .await;
        ok(&confirmed, 200, "holder data");
    }
    ok(
        &accept_required_conditions(s, &link, &party).await,
        200,
        "contract",
    );
    let sms = verify_code(s, id, &link, "new_holder", "sms", holder.mobile).await;
    ok(&sms, 200, "new holder sms");
    verify_code(s, id, &link, "new_holder", "email", holder.email).await
}

/// The new holder accepts the required conditions its party view (`GET /v1/party`) lists.
pub async fn accept_required_conditions(s: &dyn Surface, link: &str, party: &Reply) -> Reply {
    let required: Vec<Value> = party.body["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["required"] == true)
        .map(|c| c["id"].clone())
        .collect();
    s.call(
        "POST",
        "/v1/party/contract",
        As::Link(link),
        Some(json!({ "accepted": required })),
    )
    .await
}

/// Seed 000 end to end: two mailboxes and a domain of holder 534905 go to holder 963300;
/// the new holder rejects one mailbox. Two items move, one stays, the new holder sets the
/// moved mailbox's password, the access history is empty, and initiator and both holders
/// get their confirmation.
/// Seed 000's change, whole; the request's number.
pub async fn full_success(s: &dyn Surface) -> String {
    let id = open_transfer(
        s,
        json!({
            "items": [
                {"kind": "mailbox", "id": "teste1234@pec.it"},
                {"kind": "mailbox", "id": "fatture.testazienda@pec.it"},
                {"kind": "domain", "id": "testazienda-pec.it"},
            ],
            "management": {"mode": "keep"},
            "new_holder_id": TESTDUE.holder,
        }),
    )
    .await;
    let listed = s
        .call(
            "GET",
            "/v1/transfers?status=open",
            As::Account("demo"),
            None,
        )
        .await;
    ok(&listed, 200, "open requests");
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    );
    let all = [
        ("teste1234@pec.it", true),
        ("fatture.testazienda@pec.it", true),
        ("testazienda-pec.it", true),
    ];
    let done = current_holder_part(s, &id, &AZIENDA, &all).await;
    ok(&done, 200, "current holder sms");
    assert_eq!(
        done.body["status"], "open",
        "the new holder has not finished"
    );
    let last = new_holder_part(
        s,
        &id,
        &TESTDUE,
        &[
            ("teste1234@pec.it", true),
            ("fatture.testazienda@pec.it", false),
            ("testazienda-pec.it", true),
        ],
    )
    .await;
    ok(&last, 200, "new holder email");
    assert_eq!(last.body["status"], "completed");

    let request = s
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    ok(&request, 200, "request");
    let outcomes: Vec<(&str, &str)> = request.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("teste1234@pec.it", "moved"),
            ("fatture.testazienda@pec.it", "kept"),
            ("testazienda-pec.it", "moved"),
        ]
    );
    // A moved item has commands for the mail platform, a kept one none.
    for item in request.body["items"].as_array().unwrap() {
        assert_eq!(
            item.get("platform").is_some(),
            item["outcome"] == "moved",
            "{item}"
        );
    }
    // The whole trail, in order: every step, every code sent (where, masked), the ending;
    // each line with the request id, source address and user agent of the call behind it.
    let audit = request.body["audit"].as_array().unwrap();
    let lines: Vec<(Value, &str, Value)> = audit
        .iter()
        .map(|a| {
            (
                a["party"].clone(),
                a["action"].as_str().unwrap(),
                a["detail"].clone(),
            )
        })
        .collect();
    let (i, ch, nh) = (
        json!("initiator"),
        json!("current_holder"),
        json!("new_holder"),
    );
    assert_eq!(
        lines,
        vec![
            (i.clone(), "created", json!("3 elementi")),
            (i.clone(), "code_sent", json!("sms n. 1 a +39*****019")),
            (i, "sms_verified", Value::Null),
            (ch.clone(), "decisions", json!("accettati 3 su 3")),
            (ch.clone(), "code_sent", json!("sms n. 1 a +39*****905")),
            (ch, "sms_verified", Value::Null),
            (nh.clone(), "decisions", json!("accettati 2 su 3")),
            (
                nh.clone(),
                "contract_accepted",
                json!("condizioni-generali@2026-01, privacy@2026-01")
            ),
            (nh.clone(), "code_sent", json!("sms n. 1 a +39*****300")),
            (nh.clone(), "sms_verified", Value::Null),
            (
                nh.clone(),
                "code_sent",
                json!("email n. 1 a t***@example.it")
            ),
            (nh, "email_verified", Value::Null),
            (Value::Null, "ended_completed", Value::Null),
        ]
    );
    // A holder's address and browser are not the reseller's to see (security review, low 8):
    // only the initiator's own lines carry them, not the holders' nor the ending made by a
    // holder's call.
    for line in audit {
        assert!(!line["request_id"].as_str().unwrap().is_empty(), "{line}");
        let initiator = line["party"] == "initiator";
        for field in ["source_ip", "user_agent"] {
            assert_eq!(line.get(field).is_some(), initiator, "{field} in {line}");
        }
        if initiator {
            assert!(!line["source_ip"].as_str().unwrap().is_empty(), "{line}");
        }
    }

    let moved = s
        .call(
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(moved.body["holder_id"], TESTDUE.holder);
    assert_eq!(moved.body["password_reset_required"], true);
    assert_eq!(
        moved.body["access_history"],
        json!([]),
        "access history wiped"
    );
    assert!(
        !moved.body["rules"].as_array().unwrap().is_empty(),
        "rules kept"
    );
    let kept = s
        .call(
            "GET",
            "/v1/mailboxes/fatture.testazienda@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(kept.body["holder_id"], AZIENDA.holder);
    let domain = s
        .call(
            "GET",
            "/v1/domains/testazienda-pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(domain.body["holder_id"], TESTDUE.holder);

    let token = s
        .reset_token("demo", "teste1234@pec.it", TESTDUE.email)
        .await;
    let weak = s
        .call(
            "POST",
            "/v1/password-reset",
            As::Nobody,
            Some(json!({"token": token, "password": "corta"})),
        )
        .await;
    ok(&weak, 422, "weak password");
    let reset = s
        .call(
            "POST",
            "/v1/password-reset",
            As::Nobody,
            Some(json!({"token": token, "password": "Nuova-Password-2026"})),
        )
        .await;
    ok(&reset, 200, "password reset");
    let again = s
        .call(
            "POST",
            "/v1/password-reset",
            As::Nobody,
            Some(json!({"token": token, "password": "Altra-Password-2026"})),
        )
        .await;
    ok(&again, 409, "single use");
    let after = s
        .call(
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(after.body["password_reset_required"], false);

    let subject = format!("Cambio titolare concluso (richiesta {id})");
    for (to, reminder) in [
        (INITIATOR.email, false),
        (AZIENDA.email, true),
        (TESTDUE.email, false),
    ] {
        let confirmations = emails_with(s, to, &subject, 1).await;
        assert_eq!(confirmations.len(), 1, "one confirmation to {to}");
        assert_eq!(
            confirmations[0]["text"]
                .as_str()
                .unwrap()
                .contains("cancellazione del contenuto"),
            reminder,
            "only the old holder is reminded of deleting the content"
        );
    }
    let operations = s
        .call("GET", "/v1/operations", As::Account("demo"), None)
        .await;
    assert!(
        operations.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "transfer_completed" && o["subject"] == id.as_str()),
        "the outcome is in Esito Operazioni"
    );
    id
}

/// Request `id` as `demo`, its initiator, reads it.
pub async fn transfer_view(s: &dyn Surface, id: &str) -> Value {
    let reply = s
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    ok(&reply, 200, "request");
    reply.body
}

/// Each item of request `id` (as `demo` reads it) with where the mail platform stands with
/// it (`items[].platform`; null for an item with no commands).
pub async fn item_platforms(s: &dyn Surface, id: &str) -> Vec<(String, Value)> {
    transfer_view(s, id).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_owned(), i["platform"].clone()))
        .collect()
}

/// The emails to `to` with `subject`, waiting (up to 20 s) until there are `count`. Every
/// surface reads its outbox once nothing queued is left to send, so a duplicate queued with
/// the expected ones has arrived too: "told once" counts every message.
pub async fn emails_with(s: &dyn Surface, to: &str, subject: &str, count: usize) -> Vec<Value> {
    let read = || async {
        s.emails_to(to)
            .await
            .into_iter()
            .filter(|m| m["subject"] == subject)
            .collect::<Vec<Value>>()
    };
    for _ in 0..400 {
        if read().await.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    read().await
}
