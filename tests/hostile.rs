//! Hostile tests: what a party pushing every limit, a fraudster or a fault could do to a
//! request, on the embedded store and on DynamoDB (AWS's DynamoDB Local). Each prints the
//! figure it proves.

use serde_json::{Value, json};
use std::sync::Arc;
use titolare_domain::otp::*;
use titolare_domain::steps::Rules;
use titolare_e2e::flow::*;
use titolare_e2e::{GatewaySurface, HttpClient, LocalGateway, Reply, local_gateway};

fn figure(line: &str) {
    titolare_e2e::figure(env!("CARGO_TARGET_TMPDIR"), line);
}

fn at(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_795_420_800 + s).unwrap()
}

/// A user agent of 10 KB, sent with every call of the size test.
fn huge_user_agent() -> String {
    format!("Hostile/1.0 ({})", "x".repeat(10 * 1024))
}

/// A call with a bearer token and a 10 KB user agent.
async fn call(client: &HttpClient, method: &str, path: &str, token: &str, body: Value) -> Reply {
    let ua = huge_user_agent();
    let body = (!body.is_null()).then(|| body.to_string());
    client
        .send_with(
            method,
            path,
            Some(token),
            body.as_deref(),
            &[("user-agent", &ua)],
        )
        .await
}

/// 25 mailboxes of the current holder, with addresses as long as an address may be.
async fn twenty_five_mailboxes(gw: &LocalGateway) -> Vec<String> {
    use titolare_domain::ports::{Fixtures, MailboxReader};
    let store = &gw.server().store;
    let demo = titolare_domain::AccountId::parse("demo").unwrap();
    let model = store
        .mailbox(
            &demo,
            &titolare_domain::values::EmailAddress::parse("fatture.testazienda@pec.it").unwrap(),
        )
        .await
        .unwrap()
        .expect("a demo mailbox of holder 534905");
    let mut addresses = vec![model.address.as_str().to_owned()];
    for n in 1..25 {
        let local = format!("{n:02}{}", "m".repeat(62));
        let address = format!("{local}@{}.pec.it", "d".repeat(60));
        let mut mailbox = model.clone();
        mailbox.address = titolare_domain::values::EmailAddress::parse(&address).unwrap();
        store.put_mailbox(&demo, &mailbox).await.unwrap();
        addresses.push(address);
    }
    addresses
}

/// One channel of one party driven through every send and every wrong try the rules allow,
/// ending with the right code on the last send: 5 sends, 24 wrong tries, 1 right one.
async fn exhaust_then_verify(
    s: &GatewaySurface,
    token: &str,
    send_path: &str,
    (id, party, channel, to): (&str, &str, &str, &str),
) {
    let rules = titolare_domain::otp::CodePolicy::default();
    for send in 1..=rules.max_sends {
        let sent = call(
            &s.client,
            "POST",
            send_path,
            token,
            json!({ "channel": channel }),
        )
        .await;
        ok(&sent, 202, &format!("{party} {channel} send {send}"));
        let right = s.code(id, party, channel, to).await;
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        let last = send == rules.max_sends;
        let wrong_tries = if last {
            rules.max_attempts - 1
        } else {
            rules.max_attempts
        };
        for _ in 0..wrong_tries {
            let refused = call(
                &s.client,
                "POST",
                &format!("{send_path}/verify"),
                token,
                json!({ "channel": channel, "code": wrong }),
            )
            .await;
            ok(&refused, 422, "a wrong code");
        }
        if last {
            let verified = call(
                &s.client,
                "POST",
                &format!("{send_path}/verify"),
                token,
                json!({ "channel": channel, "code": right }),
            )
            .await;
            ok(&verified, 200, "the right code on the last send");
        } else {
            s.advance(61).await;
        }
    }
}

/// 25 items, every party through every send and wrong try, 10 KB user agents on every call:
/// the request stays writable, completes, and its item stays far below 400 KB.
async fn largest_transfer_completes(gw: &LocalGateway, store_name: &str) {
    let s = GatewaySurface::new(gw.client.clone());
    let items = twenty_five_mailboxes(gw).await;
    let demo = gw.client.login("demo").await;
    let draft = call(
        &s.client,
        "POST",
        "/v1/transfers",
        &demo,
        json!({
            "items": items.iter().map(|m| json!({"kind": "mailbox", "id": m})).collect::<Vec<_>>(),
            "management": {"mode": "keep"},
            "new_holder_id": TESTDUE.holder,
        }),
    )
    .await;
    ok(&draft, 201, "a draft of 25 items");
    let id = draft.body["id"].as_str().unwrap().to_owned();
    let codes = format!("/v1/transfers/{id}/codes");
    exhaust_then_verify(
        &s,
        &demo,
        &codes,
        (&id, "initiator", "sms", INITIATOR.mobile),
    )
    .await;
    let accept_all = json!({"decisions": items.iter().map(|m| json!({"item": m, "accept": true})).collect::<Vec<_>>()});

    let current = s.link(&id, "current_holder", AZIENDA.email).await;
    ok(
        &call(
            &s.client,
            "POST",
            "/v1/party/decisions",
            &current,
            accept_all.clone(),
        )
        .await,
        200,
        "current holder decisions",
    );
    exhaust_then_verify(
        &s,
        &current,
        "/v1/party/codes",
        (&id, "current_holder", "sms", AZIENDA.mobile),
    )
    .await;

    let new = s.link(&id, "new_holder", TESTDUE.email).await;
    ok(
        &call(&s.client, "POST", "/v1/party/decisions", &new, accept_all).await,
        200,
        "new holder decisions",
    );
    let party = call(&s.client, "GET", "/v1/party", &new, Value::Null).await;
    let required: Vec<Value> = party.body["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["required"] == true)
        .map(|c| c["id"].clone())
        .collect();
    ok(
        &call(
            &s.client,
            "POST",
            "/v1/party/contract",
            &new,
            json!({ "accepted": required }),
        )
        .await,
        200,
        "contract",
    );
    for (channel, to) in [("sms", TESTDUE.mobile), ("email", TESTDUE.email)] {
        exhaust_then_verify(
            &s,
            &new,
            "/v1/party/codes",
            (&id, "new_holder", channel, to),
        )
        .await;
    }

    let read = call(
        &s.client,
        "GET",
        &format!("/v1/transfers/{id}"),
        &demo,
        Value::Null,
    )
    .await;
    ok(&read, 200, "the request");
    assert_eq!(read.body["status"], "completed");
    let audit = read.body["audit"].as_array().unwrap();
    assert!(
        audit
            .iter()
            .all(|e| e["user_agent"].as_str().unwrap_or_default().len() <= 256),
        "user agents are cut"
    );
    let raw = gw
        .server()
        .store
        .backend()
        .get(
            &titolare_store::keys::transfer_pk(
                &titolare_domain::transfer::TransferId::parse(&id).unwrap(),
            ),
            titolare_store::keys::TRANSFER_SK,
            0,
        )
        .await
        .unwrap()
        .expect("the request item");
    // Cut where they are kept, holders' lines included (the view shows those to nobody).
    let stored = raw.data["audit"].as_array().expect("the stored trail");
    assert!(
        stored
            .iter()
            .all(|e| e["user_agent"].as_str().unwrap().len() <= 256),
        "user agents are cut when stored"
    );
    let size = titolare_store::backend::item_size(&raw);
    figure(&format!(
        "size ({store_name}): 25 items, {} audit lines, 10 KB user agents: request item {size} bytes ({:.0}% of DynamoDB's 400 KB)",
        audit.len(),
        size as f64 * 100.0 / titolare_store::backend::MAX_ITEM_BYTES as f64
    ));
    assert!(
        size < titolare_store::backend::MAX_ITEM_BYTES / 4,
        "the request item stays under 100 KB: {size} bytes"
    );
}

#[tokio::test]
async fn the_largest_transfer_stays_writable_on_the_embedded_store() {
    let gw = local_gateway().await;
    largest_transfer_completes(&gw, "embedded").await;
}

#[tokio::test]
async fn the_largest_transfer_stays_writable_on_dynamodb() {
    let (client, table) = titolare_store_dynamodb::testing::fresh_local_table("hostile-size").await;
    let backend = Arc::new(titolare_store_dynamodb::DynamoBackend::new(client, table));
    let gw = titolare_e2e::local_gateway_on(backend, Rules::default()).await;
    largest_transfer_completes(&gw, "dynamodb").await;
}

#[test]
fn the_embedded_store_refuses_items_and_keys_dynamodb_would_refuse() {
    use titolare_store::{Condition, Item, Write};
    let dir = std::env::temp_dir().join(format!("titolare-hostile-{}", std::process::id()));
    // A process id comes back (a test is a process under nextest): clear what an earlier
    // process of the same id left.
    let _ = std::fs::remove_dir_all(&dir);
    let backend = titolare_store_embedded::EmbeddedBackend::open(&dir.join("items.redb")).unwrap();
    let item = |bytes: usize| Item::new("P", "S", "test", json!({ "blob": "x".repeat(bytes) }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use titolare_store::ItemBackend;
        let fits = backend
            .transact(&[Write::put(item(400 * 1024 - 200), Condition::Always)], 0)
            .await;
        assert_eq!(fits, Ok(()));
        let over = backend
            .transact(&[Write::put(item(400 * 1024), Condition::Always)], 0)
            .await;
        assert!(
            matches!(over, Err(titolare_store::BackendError::Invalid(ref m)) if m.contains("400 KB")),
            "{over:?}"
        );
        let long_sort_key = "s".repeat(1025);
        assert!(matches!(
            backend.get("P", &long_sort_key, 0).await,
            Err(titolare_store::BackendError::Invalid(_))
        ));
        let mut long_key = item(10);
        long_key.pk = "p".repeat(2049);
        assert!(matches!(
            backend
                .transact(&[Write::put(long_key, Condition::Always)], 0)
                .await,
            Err(titolare_store::BackendError::Invalid(_))
        ));
    });
    let _ = std::fs::remove_dir_all(dir);
}

/// An unreadable request at the head of the index by deadline: the expirer reports it and
/// still ends the overdue request behind it.
#[tokio::test]
async fn a_poison_transfer_does_not_stop_the_expirer() {
    use titolare_store::{Condition, Item, Write};
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let poison = open_transfer(
        &s,
        json!({"items": [{"kind": "mailbox", "id": "teste1234@pec.it"}], "management": {"mode": "keep"}, "new_holder_id": TESTDUE.holder}),
    )
    .await;
    s.advance(60).await;
    let next = open_transfer(
        &s,
        json!({"items": [{"kind": "mailbox", "id": "fatture.testazienda@pec.it"}], "management": {"mode": "keep"}, "new_holder_id": TESTDUE.holder}),
    )
    .await;
    // The first request's item becomes unreadable (as a bad deployment could leave it).
    let id = titolare_domain::transfer::TransferId::parse(&poison).unwrap();
    let mut garbage = Item::new(
        titolare_store::keys::transfer_pk(&id),
        titolare_store::keys::TRANSFER_SK,
        "transfer",
        json!({ "not": "a request" }),
    );
    garbage.version = 99;
    gw.server()
        .store
        .backend()
        .transact(&[Write::put(garbage, Condition::Always)], 0)
        .await
        .unwrap();
    s.advance(5 * 86_400 + 60).await;
    // Stored expired by the local expirer (its page of 100, as deployed), not only read as
    // expired from its deadline, and its parties told.
    let next_id = titolare_domain::transfer::TransferId::parse(&next).unwrap();
    let mut stored = None;
    for _ in 0..100 {
        use titolare_domain::ports::TransferReader;
        stored = gw.server().store.transfer(&next_id).await.unwrap();
        if stored.as_ref().is_some_and(|t| t.value.status.is_ended()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let stored = stored.expect("the request behind the poison one").value;
    assert_eq!(
        stored.status,
        titolare_domain::transfer::TransferStatus::Expired,
        "the request behind the poison one is stored expired"
    );
    let subject = format!("Cambio titolare scaduto (richiesta {next})");
    for to in [INITIATOR.email, AZIENDA.email, TESTDUE.email] {
        assert_eq!(emails_with(&s, to, &subject, 1).await.len(), 1, "{to} told");
    }
    let report = titolare_api::lifecycle::expire_all_overdue(
        &*gw.server().store,
        &titolare_domain::metrics::NoMetrics,
        &*gw.server().clock,
        &Rules::default(),
        100,
        || true,
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 1, "the poison entry is reported: {report:?}");
    figure(
        "poison: an unreadable request at the head of the deadline index: reported as failed, the next overdue request expired",
    );
}

/// A draft is no username oracle: `hand_over` to an account that exists and to one that does
/// not are answered alike (201, the same body but for the request's own number and times);
/// only the initiator's verification, after an SMS the account's limits count, tells them apart.
#[tokio::test]
async fn a_hand_over_draft_does_not_tell_whether_a_username_exists() {
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let draft = |username: &str| {
        let mut body = draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder);
        body["management"] = json!({"mode": "hand_over", "username": username});
        body
    };
    let comparable = |mut reply: Reply| {
        for volatile in ["id", "created_at", "deadline", "history", "audit"] {
            reply.body.as_object_mut().unwrap().remove(volatile);
        }
        let username = reply.body["management"]["username"].take();
        (reply.status, reply.body, username)
    };
    let cancel = |id: String| {
        let s = &s;
        async move {
            let path = format!("/v1/transfers/{id}/cancel");
            ok(
                &s.call("POST", &path, As::Account("demo"), None).await,
                200,
                "cancel",
            );
        }
    };
    // Both drafts hold the same mailbox: one at a time.
    let mut answers = Vec::new();
    for username in ["demo2", "nessuno-con-questo-nome"] {
        let reply = s
            .call(
                "POST",
                "/v1/transfers",
                As::Account("demo"),
                Some(draft(username)),
            )
            .await;
        let id = reply.body["id"].as_str().unwrap_or_default().to_owned();
        let (status, body, named) = comparable(reply);
        assert_eq!(named, username, "{body}");
        answers.push((status, body));
        if username == "demo2" {
            cancel(id).await;
            continue;
        }
        let unknown = verify_initiator(&s, &id).await;
        assert_eq!(unknown.status, 422, "{}", unknown.body);
        assert_eq!(
            unknown.body["errors"]["management.username"],
            "Nessun account ha questo username: controlla come è scritto."
        );
        let still = s
            .call(
                "GET",
                &format!("/v1/transfers/{id}"),
                As::Account("demo"),
                None,
            )
            .await;
        assert_eq!(still.body["status"], "draft", "nothing opened");
        cancel(id).await;
    }
    assert_eq!(answers[0], answers[1], "the same answer for both");
    assert_eq!(answers[0].0, 201);
    let known = s
        .call(
            "POST",
            "/v1/transfers",
            As::Account("demo"),
            Some(draft("demo2")),
        )
        .await;
    let known = verify_initiator(&s, known.body["id"].as_str().unwrap()).await;
    ok(&known, 200, "the known username opens");
    assert_eq!(known.body["status"], "open");
}

/// The wizard's management check (`POST /v1/management/check`) refuses what a draft refuses at
/// once (a malformed username, the caller's own account) and is no username oracle either: an
/// account that exists and one that does not get the same answer.
#[tokio::test]
async fn the_management_check_refuses_what_a_draft_does_and_tells_no_username() {
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let check = |body: Value| {
        let s = &s;
        async move {
            s.call(
                "POST",
                "/v1/management/check",
                As::Account("demo"),
                Some(body),
            )
            .await
        }
    };
    for (username, message) in [
        ("con spazi", None),
        (
            "demo",
            Some(
                "È il tuo stesso account: se la gestione resta a te, scegli il profilo titolare che gestisci col tuo username.",
            ),
        ),
    ] {
        let refused = check(json!({"mode": "hand_over", "username": username})).await;
        assert_eq!(refused.status, 422, "{username}: {}", refused.body);
        let said = refused.body["errors"]["username"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !said.is_empty(),
            "{username}: the field says why: {}",
            refused.body
        );
        if let Some(message) = message {
            assert_eq!(said, message);
        }
    }
    let mut answers = Vec::new();
    for username in ["demo2", "nessuno-con-questo-nome"] {
        let reply = check(json!({"mode": "hand_over", "username": username})).await;
        ok(&reply, 200, username);
        assert_eq!(reply.body["username"], username);
        answers.push((
            reply.status,
            reply.body["mode"].clone(),
            reply.body.as_object().map(|o| o.len()),
        ));
    }
    assert_eq!(answers[0], answers[1], "the same answer for both");
    let keep = check(json!({"mode": "keep"})).await;
    ok(&keep, 200, "keep");
    assert_eq!(keep.body, json!({"mode": "keep"}));
    let anonymous = s
        .call(
            "POST",
            "/v1/management/check",
            As::Nobody,
            Some(json!({"mode": "keep"})),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

/// A link sent to a wrong address lets its reader spend the holder's code sends; once the
/// initiator corrects the address, the corrected holder's link has a budget of its own.
#[tokio::test]
async fn a_corrected_contact_gets_its_own_send_budget() {
    let codes = titolare_domain::otp::CodePolicy {
        resend_after: jiff::SignedDuration::ZERO,
        ..Default::default()
    };
    let max_sends = codes.max_sends;
    let gw = titolare_e2e::local_gateway_with_codes(codes).await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let send = |link: String| {
        let s = &s;
        async move {
            s.call(
                "POST",
                "/v1/party/codes",
                As::Link(&link),
                Some(json!({"channel": "sms"})),
            )
            .await
        }
    };
    // The wrong reader of the current holder's invitation takes the first step and spends
    // every send.
    let old = s.link(&id, "current_holder", AZIENDA.email).await;
    ok(
        &decide(&s, &old, &[("teste1234@pec.it", true)]).await,
        200,
        "decision",
    );
    for n in 1..=max_sends {
        let sent = send(old.clone()).await;
        ok(&sent, 202, "a send");
        assert_eq!(sent.body["sends_left"], max_sends - n);
    }
    let spent = send(old.clone()).await;
    assert_eq!(spent.status, 429, "{}", spent.body);
    let corrected = s
        .call(
            "PATCH",
            &format!("/v1/transfers/{id}/contacts"),
            As::Account("demo"),
            Some(json!({"party": "current_holder", "email": "titolare.vero@example.it"})),
        )
        .await;
    ok(&corrected, 200, "correction");
    let new = s
        .link(&id, "current_holder", "titolare.vero@example.it")
        .await;
    let sent = send(new.clone()).await;
    ok(&sent, 202, "the corrected holder's first send");
    assert_eq!(sent.body["sends_left"], max_sends - 1);
    assert_eq!(send(old).await.status, 401, "the old link is void");
}

/// Email pumping: an account opens a request (its invitations) and asks for the invitation
/// again and again, to both holders, each within its own per-party budget. The account's
/// daily email limit holds across them (here 6, to keep the test short); the rest get 429
/// with Retry-After and queue nothing.
#[tokio::test]
async fn emails_are_capped_per_account() {
    let mut codes = titolare_domain::otp::CodePolicy::default();
    codes.emails_per_account.max = 6;
    codes.resend_after = jiff::SignedDuration::ZERO;
    let gw = titolare_e2e::local_gateway_with_codes(codes).await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let subject = format!("Cambio titolare di servizi PEC (richiesta {id})");
    let invitations = || async {
        let outbox = gw
            .client
            .send("GET", "/dev/outbox?settled", None, None)
            .await;
        outbox
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["subject"] == subject.as_str())
            .count()
    };
    let opening = invitations().await;
    assert!(opening > 0, "opening a request invites the holders");
    let demo = gw.client.login("demo").await;
    let (mut sent, mut limited) = (0, 0);
    for party in ["current_holder", "new_holder"].repeat(5) {
        let reply = gw
            .client
            .send(
                "POST",
                &format!("/v1/transfers/{id}/invitations"),
                Some(&demo),
                Some(&json!({"party": party}).to_string()),
            )
            .await;
        match reply.status {
            202 => sent += 1,
            429 => {
                limited += 1;
                assert_eq!(reply.body["type"], "urn:titolare:problem:email-limit");
                let wait: i64 = reply.header("retry-after").unwrap().parse().unwrap();
                assert!(wait > 23 * 3600 && wait <= 24 * 3600, "Retry-After {wait}");
                assert!(
                    reply.body["detail"].as_str().unwrap().starts_with(
                        "Troppe email (inviti e codici) inviate per le richieste di questo account"
                    ),
                    "{}",
                    reply.body
                );
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!(opening + sent, 6, "the limit, and not one more");
    assert_eq!(limited, 10 - sent);
    assert_eq!(invitations().await, 6, "what left is what was admitted");
    figure(&format!(
        "email pumping: a request's {opening} invitations and 10 more asked for: {sent} sent, {limited} refused with 429 (limit set to 6 per account per 24 h; default 500)"
    ));
}

/// SMS pumping: 100 loops of draft → SMS → cancel from one account, each to a new number
/// (a fresh per-request budget each time), and then to one number. The account's and the
/// number's limits hold across requests; the rest get 429 with Retry-After.
#[tokio::test]
async fn sms_pumping_is_capped_per_account_and_per_number() {
    let gw = local_gateway().await;
    let policy = titolare_domain::otp::CodePolicy::default();
    let demo = gw.client.login("demo").await;
    let body = json!({"items": [{"kind": "mailbox", "id": "teste1234@pec.it"}], "management": {"mode": "keep"}, "new_holder_id": TESTDUE.holder}).to_string();
    let pump = |number: Option<String>| {
        let (client, demo, body) = (gw.client.clone(), demo.clone(), body.clone());
        async move {
            let draft = client
                .send("POST", "/v1/transfers", Some(&demo), Some(&body))
                .await;
            ok(&draft, 201, "draft");
            let id = draft.body["id"].as_str().unwrap().to_owned();
            let send = match number {
                Some(n) => json!({"channel": "sms", "phone": n}),
                None => json!({"channel": "sms"}),
            };
            let sent = client
                .send_with(
                    "POST",
                    &format!("/v1/transfers/{id}/codes"),
                    Some(&demo),
                    Some(&send.to_string()),
                    &[],
                )
                .await;
            let cancelled = client
                .send(
                    "POST",
                    &format!("/v1/transfers/{id}/cancel"),
                    Some(&demo),
                    None,
                )
                .await;
            ok(&cancelled, 200, "cancel");
            sent
        }
    };
    let (mut sent, mut limited) = (0, 0);
    for n in 0..100 {
        let reply = pump(Some(format!("+39333{:07}", 1_000_000 + n))).await;
        match reply.status {
            202 => sent += 1,
            429 => {
                limited += 1;
                assert_eq!(reply.body["type"], "urn:titolare:problem:sms-limit");
                let wait: i64 = reply.header("retry-after").unwrap().parse().unwrap();
                assert!(wait > 0 && wait <= 24 * 3600, "Retry-After {wait}");
                assert!(
                    reply.body["detail"]
                        .as_str()
                        .unwrap()
                        .starts_with("Troppi SMS inviati per le richieste di questo account"),
                    "{}",
                    reply.body
                );
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    figure(&format!(
        "pumping: 100 draft → sms → cancel loops to 100 numbers: {sent} SMS sent, {limited} refused with 429 (limit {} per account per {} h)",
        policy.sms_per_account.max,
        policy.sms_per_account.per.as_hours()
    ));
    assert_eq!(sent, policy.sms_per_account.max as usize);
    assert_eq!(limited, 100 - sent);
    let outbox = gw.client.send("GET", "/dev/outbox", None, None).await;
    let sms = outbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "sms")
        .count();
    assert_eq!(sms, sent, "what left is what was admitted");
    // A day later the account may send again; one number still gets at most 10 an hour.
    let s = GatewaySurface::new(gw.client.clone());
    s.advance(24 * 3600).await;
    let (mut to_one, mut retry_after) = (0, None);
    for _ in 0..20 {
        let reply = pump(None).await;
        if reply.status == 202 {
            to_one += 1;
        } else {
            assert_eq!(reply.status, 429);
            assert!(
                reply.body["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("Troppi SMS inviati a questo numero")
            );
            assert!(reply.header("retry-after").is_some());
            retry_after = Some(reply.body.clone());
        }
    }
    figure(&format!(
        "pumping: 20 loops to one number: {to_one} SMS sent (limit {} per number per hour)",
        policy.sms_per_destination.max
    ));
    assert_eq!(to_one, policy.sms_per_destination.max as usize);
    assert!(retry_after.is_some());
}

/// One rule for every read of a request: `expired` from the second of its deadline (the
/// expirer may not have run yet), gone once an ended request's retention has passed.
#[tokio::test]
async fn a_transfer_reads_expired_at_its_deadline_and_is_gone_after_retention() {
    use titolare_domain::ports::TransferReader;
    let rules = Rules::default();
    let gw = titolare_e2e::local_gateway_with(rules.clone()).await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        json!({"items": [{"kind": "mailbox", "id": "teste1234@pec.it"}], "management": {"mode": "keep"}, "new_holder_id": TESTDUE.holder}),
    )
    .await;
    let read = || async {
        s.call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await
    };
    let open = read().await;
    let deadline: jiff::Timestamp = open.body["deadline"].as_str().unwrap().parse().unwrap();
    // The request as stored, read through the same handler with the clock at its deadline.
    let stored = gw
        .server()
        .store
        .transfer(&titolare_domain::transfer::TransferId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .value;
    let seen = stored.seen_at(deadline);
    assert_eq!(
        seen.status,
        titolare_domain::transfer::TransferStatus::Expired
    );
    assert_eq!(
        stored
            .seen_at(deadline - jiff::SignedDuration::from_secs(1))
            .status,
        titolare_domain::transfer::TransferStatus::Open
    );
    s.advance(5 * 86_400).await;
    let at_deadline = read().await;
    ok(&at_deadline, 200, "read at the deadline");
    assert_eq!(
        at_deadline.body["status"], "expired",
        "never `open` past its deadline"
    );
    // The expirer ends it (it looks every half second locally): waited for as stored, not
    // slept for; it stays readable for the retention period, then is gone.
    let transfer_id = titolare_domain::transfer::TransferId::parse(&id).unwrap();
    let mut stored_expired = false;
    for _ in 0..200 {
        let stored = gw.server().store.transfer(&transfer_id).await.unwrap();
        if stored
            .is_some_and(|t| t.value.status == titolare_domain::transfer::TransferStatus::Expired)
        {
            stored_expired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stored_expired, "the expirer ended the request");
    s.advance(rules.retention.as_secs() - 60).await;
    ok(&read().await, 200, "within retention");
    s.advance(120).await;
    let gone = read().await;
    ok(
        &gone,
        404,
        "after retention: no audit, no addresses, nothing",
    );
    assert!(gone.body.get("audit").is_none());
}

/// HTTP as RFC 9110 has it, on every route alike: a 405 says what is allowed, a 401 how to
/// authenticate, authentication comes before the query is read, and an empty page size
/// is refused like any other wrong one.
#[tokio::test]
async fn http_answers_follow_rfc_9110() {
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let not_allowed = gw
        .client
        .send("DELETE", "/v1/holders/19", Some(&token), None)
        .await;
    ok(&not_allowed, 405, "DELETE on a holder");
    assert_eq!(not_allowed.header("allow"), Some("GET, PATCH"));
    let anonymous = gw.client.send("GET", "/v1/holders/19", None, None).await;
    ok(&anonymous, 401, "no token");
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some(r#"Bearer realm="titolare""#)
    );
    let bad_link = gw
        .client
        .send("GET", "/v1/party", Some("forged.token"), None)
        .await;
    ok(&bad_link, 401, "a forged link token");
    assert!(
        bad_link
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let anonymous_list = gw
        .client
        .send("GET", "/v1/transfers?status=bogus", None, None)
        .await;
    ok(&anonymous_list, 401, "authentication before the query");
    for path in [
        "/v1/transfers?page_size=",
        "/v1/holders?cognome=test&page_size=",
    ] {
        let empty = gw.client.send("GET", path, Some(&token), None).await;
        ok(&empty, 400, path);
        assert!(
            empty.body["errors"]["page_size"].is_string(),
            "{}",
            empty.body
        );
    }
}

/// Values that become parts of store keys are bounded at parse: a 1 KB domain name or a
/// 2 KB username gets a 4xx, never a store error.
#[tokio::test]
async fn key_parts_are_bounded_at_parse() {
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let long_domain = format!("{}.it", "a.".repeat(520));
    let domain = gw
        .client
        .get(&format!("/v1/domains/{long_domain}"), &token)
        .await;
    ok(&domain, 404, "a domain name of 1 KB");
    let draft = |kind: &str, id: &str| {
        let body = json!({
            "items": [{"kind": kind, "id": id}],
            "management": {"mode": "hand_over", "username": "u".repeat(2048)},
            "new_holder_id": TESTDUE.holder,
        })
        .to_string();
        let (client, token) = (gw.client.clone(), token.clone());
        async move {
            client
                .send("POST", "/v1/transfers", Some(&token), Some(&body))
                .await
        }
    };
    let refused = draft("domain", &long_domain).await;
    assert!(
        (400..500).contains(&refused.status),
        "{}: {}",
        refused.status,
        refused.body
    );
    let refused = draft("mailbox", "teste1234@pec.it").await;
    ok(&refused, 422, "a username of 2 KB");
    assert!(
        refused.body["errors"]["management.username"]
            .as_str()
            .unwrap()
            .starts_with("Username non valido")
    );
}

/// The most code guesses one party can make on one channel of one request, over every
/// send the rules allow and every change of number (each change is a send), and the
/// chance that guessing wins. Goal: at most 25 in 10^6 per request and channel.
#[test]
fn guesses_per_transfer_are_bounded() {
    let p = CodePolicy::default();
    let key = titolare_domain::secret::SecretKey::from_bytes(&[3; 32]).unwrap();
    let mut current: Option<Challenge> = None;
    let (mut guesses, mut now) = (0u32, 0i64);
    for number in 0.. {
        now += 61;
        let destination = format!("+39333{number:07}");
        let Ok(sent) = Challenge::send(
            current.as_ref(),
            &titolare_domain::transfer::TransferId::from_number(1),
            Party::NewHolder,
            Channel::Sms,
            &destination,
            at(now),
            &p,
        ) else {
            break;
        };
        let right = sent.code(&key);
        let wrong = if right.reveal() == "000000" {
            "111111"
        } else {
            "000000"
        };
        let mut c = sent;
        loop {
            let (stored, result) = c.verify(wrong, at(now + 1), &key, &p);
            if matches!(result, Err(CodeError::Wrong(_))) {
                guesses += 1;
            }
            match stored {
                Some(next) if next.status == ChallengeStatus::Pending => c = next,
                Some(next) => {
                    c = next;
                    break;
                }
                None => break,
            }
        }
        // Locked: every further try is refused, the right code too, and counts for nothing.
        let right = right.reveal().to_string();
        for typed in [wrong, right.as_str(), wrong, right.as_str()] {
            let (stored, result) = c.verify(typed, at(now + 2), &key, &p);
            assert_eq!(
                result,
                Err(CodeError::TooManyAttempts),
                "a locked code took a try"
            );
            assert!(stored.is_none(), "a locked code changed");
        }
        current = Some(c);
    }
    // Six-digit codes; 5 sends of 5 tries each (the rules' figures, written out here so a
    // change of them shows as a change of this bound).
    const CODES: f64 = 1e6;
    let chance = f64::from(guesses) / CODES;
    figure(&format!(
        "brute force: at most {guesses} guesses per party and channel of a request ({} sends × {} tries, number changes included): success chance {:.0} in 10^6",
        p.max_sends,
        p.max_attempts,
        chance * 1e6
    ));
    assert_eq!(guesses, 25);
    assert!(chance <= 25e-6);
}

/// The new holder's part up to their SMS step, which they take at `phone` (not the number
/// the initiator gave): decisions and contract, then the code to that number, verified.
async fn new_holder_verifies_at(s: &dyn Surface, id: &str, phone: &str) -> Reply {
    let link = s.link(id, "new_holder", TESTDUE.email).await;
    ok(
        &decide(s, &link, &[("teste1234@pec.it", true)]).await,
        200,
        "decisions",
    );
    let party = s.call("GET", "/v1/party", As::Link(&link), None).await;
    ok(
        &accept_required_conditions(s, &link, &party).await,
        200,
        "contract",
    );
    let sent = s
        .call(
            "POST",
            "/v1/party/codes",
            As::Link(&link),
            Some(json!({ "channel": "sms", "phone": phone })),
        )
        .await;
    if sent.status != 202 {
        return sent;
    }
    let e164 = format!(
        "+39{}",
        phone.replace([' ', '+'], "").trim_start_matches("39")
    );
    let code = s.code(id, "new_holder", "sms", &e164).await;
    s.call(
        "POST",
        "/v1/party/codes/verify",
        As::Link(&link),
        Some(json!({ "channel": "sms", "code": code })),
    )
    .await
}

/// The local outbox's messages on `channel` to `to` whose text holds `needle`, waiting for
/// the first.
async fn outbox_to(gw: &LocalGateway, channel: &str, to: &str, needle: &str) -> Vec<Value> {
    for _ in 0..100 {
        let all = gw.client.send("GET", "/dev/outbox", None, None).await.body;
        let found: Vec<Value> = all
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["channel"] == channel && m["to"] == to)
            .filter(|m| m["text"].as_str().is_some_and(|t| t.contains(needle)))
            .cloned()
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Vec::new()
}

/// The stop token in a message's text.
fn stop_token(message: &Value) -> String {
    let text = message["text"].as_str().unwrap();
    let start = text.find("blocca#token=").expect("a stop link") + "blocca#token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect()
}

/// Seed 000's request with every step taken, the new holder's SMS step (by someone with
/// their emailed link) at a number of their own: the request id and the last step's answer,
/// which finds the request held, not completed.
async fn every_step_at_another_number(s: &dyn Surface) -> (String, Reply) {
    let one = [("teste1234@pec.it", true)];
    let id = open_transfer(
        s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    ok(
        &current_holder_part(s, &id, &AZIENDA, &one).await,
        200,
        "current holder",
    );
    let verified = new_holder_verifies_at(s, &id, "+39 347 555 1212").await;
    ok(&verified, 200, "the other number's code");
    assert!(verified.body["hold_until"].is_string(), "{}", verified.body);
    let link = s.link(&id, "new_holder", TESTDUE.email).await;
    let email = verify_code(s, &id, &link, "new_holder", "email", TESTDUE.email).await;
    ok(&email, 200, "the last step");
    assert_eq!(
        email.body["status"], "open",
        "held, not completed: {}",
        email.body
    );
    (id, email)
}

/// Security review, high 2 (docs/security.md): a holder's emailed link alone used to be
/// enough to act as that holder, since the SMS step took any number. Now a number other than
/// the one on file holds the request for 24 hours, the number and email on file are told at
/// once with a link that stops it, and the trail says which number verified, masked.
#[tokio::test]
async fn another_number_holds_the_transfer_and_the_number_on_file_can_stop_it() {
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let (id, _) = every_step_at_another_number(&s).await;
    let link = s.link(&id, "new_holder", TESTDUE.email).await;
    // The number and the email on file are told, each with the stop link.
    let sms = outbox_to(
        &gw,
        "sms",
        TESTDUE.mobile,
        "Non sei stato tu? Blocca la richiesta",
    )
    .await;
    assert_eq!(sms.len(), 1, "one SMS to the number on file");
    assert!(sms[0]["text"].as_str().unwrap().contains("+39*****212"));
    let mail = outbox_to(&gw, "email", TESTDUE.email, "Blocca la richiesta").await;
    assert_eq!(mail.len(), 1, "one email to the address on file");
    let request = s
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    let line = request.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "number_changed")
        .cloned()
        .expect("the trail names the change of number");
    assert_eq!(line["party"], "new_holder");
    let detail = line["detail"].as_str().unwrap();
    assert!(
        detail.contains("+39*****212") && !detail.contains("5551212"),
        "{detail}"
    );
    // The holder on file stops it: their rejection; nothing changes holder.
    let token = stop_token(&sms[0]);
    let stop = |token: String| {
        let s = &s;
        async move {
            s.call(
                "POST",
                "/v1/party/stop",
                As::Nobody,
                Some(json!({ "token": token })),
            )
            .await
        }
    };
    let stopped = stop(token.clone()).await;
    ok(&stopped, 200, "stop");
    assert_eq!(stopped.body["status"], "rejected");
    assert_eq!(stopped.body["role"], "new_holder");
    ok(
        &stop(token.clone()).await,
        200,
        "a repeat answers as the first",
    );
    assert_eq!(stop(stop_token(&mail[0])).await.body["status"], "rejected");
    let forged = stop(format!("{id}.stop-nh.AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let link_as_stop = stop(link.clone()).await;
    assert_eq!(link_as_stop.status, 401, "a holder's link stops nothing");
    let mailbox = s
        .call(
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(mailbox.body["holder_id"], AZIENDA.holder, "nothing moved");
    gw.shutdown().await;
}

/// Without a stop, the held request completes when the wait ends (the expirer), not a
/// second before.
#[tokio::test]
async fn a_held_transfer_completes_when_the_wait_ends() {
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let (id, email) = every_step_at_another_number(&s).await;
    let hold_until: jiff::Timestamp = email.body["hold_until"].as_str().unwrap().parse().unwrap();
    let status = || {
        let s = &s;
        let path = format!("/v1/transfers/{id}");
        async move {
            s.call("GET", &path, As::Account("demo"), None).await.body["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let now = titolare_domain::ports::Clock::now(&*gw.server().clock);
    // One run of the expirer now, as the local one runs twice a second (and the scheduled one
    // every 5 minutes in AWS): what it finds due is what it ends.
    let expire = || async {
        let server = gw.server();
        titolare_api::lifecycle::expire_all_overdue(
            &*server.store,
            &titolare_domain::metrics::NoMetrics,
            &*server.clock,
            &Rules::default(),
            100,
            || true,
        )
        .await
        .expect("an expirer run")
    };
    s.advance(hold_until.as_second() - now.as_second() - 2)
        .await;
    assert_eq!(
        expire().await.completed,
        0,
        "nothing due before the wait ends"
    );
    assert_eq!(status().await, "open", "not before the wait ends");
    // Past the wait's end whatever the clock's fraction of a second (the clock runs on).
    s.advance(3).await;
    expire().await;
    assert_eq!(status().await, "completed", "the expirer completed it");
    let mailbox = s
        .call(
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(mailbox.body["holder_id"], TESTDUE.holder);
    gw.shutdown().await;
}

/// A provider's policy forbids another number; and with the policy's hold, another number
/// is refused once the wait would outlast the deadline. Either way the answer says what to
/// do, and the number on file still works.
#[tokio::test]
async fn another_number_is_refused_when_the_policy_forbids_it_or_too_late() {
    let fixed = Rules {
        number_change_hold: None,
        ..Rules::default()
    };
    let gw = titolare_e2e::local_gateway_with(fixed).await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let refused = new_holder_verifies_at(&s, &id, "+39 347 555 1212").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body["errors"]["phone"].is_string(),
        "{}",
        refused.body
    );
    let same = new_holder_verifies_at(&s, &id, "+39 333 0963300").await;
    ok(&same, 200, "the number on file");
    assert!(same.body["hold_until"].is_null());
    gw.shutdown().await;

    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    // Four days and one second into the five: less than the 24-hour wait is left.
    s.advance(4 * 86_400 + 1).await;
    let late = new_holder_verifies_at(&s, &id, "+39 347 555 1212").await;
    assert_eq!(late.status, 422, "{}", late.body);
    assert!(
        late.body["detail"]
            .as_str()
            .unwrap()
            .contains("alla scadenza"),
        "{}",
        late.body
    );
    gw.shutdown().await;
}
