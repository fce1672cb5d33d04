//! The change of holder end to end over the local gateway's HTTP surface: every path of
//! the reference flow for both management modes, the endings, the deadline, the policies, and races.

use serde_json::{Value, json};
use std::sync::Arc;
use titolare_domain::steps::Rules;
use titolare_e2e::flow::{self, *};
use titolare_e2e::{
    GatewaySurface, LocalGateway, local_gateway, local_gateway_frozen, local_gateway_with,
};

fn surface(gw: &LocalGateway) -> GatewaySurface {
    GatewaySurface::new(gw.client.clone())
}

use flow::transfer_view as get_transfer;

/// A local gateway over a fresh table of DynamoDB Local.
async fn on_dynamodb_local() -> LocalGateway {
    let (client, table) = titolare_store_dynamodb::testing::fresh_local_table("races").await;
    let backend = Arc::new(titolare_store_dynamodb::DynamoBackend::new(client, table));
    titolare_e2e::local_gateway_on(backend, Rules::default()).await
}

async fn draft_status(s: &dyn Surface, body: Value) -> (u16, Value) {
    let reply = s
        .call("POST", "/v1/transfers", As::Account("demo"), Some(body))
        .await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn seed_000_on_the_embedded_store() {
    let gw = local_gateway().await;
    flow::full_success(&surface(&gw)).await;
}

#[tokio::test]
async fn seed_000_on_dynamodb() {
    use titolare_store_dynamodb::testing::{self, OneAtATime};
    let (client, table) = testing::fresh_table("transfers").await;
    let backend = Arc::new(OneAtATime(titolare_store_dynamodb::DynamoBackend::new(
        client, table,
    )));
    let gw = titolare_e2e::local_gateway_on(backend, Rules::default()).await;
    flow::full_success(&surface(&gw)).await;
}

#[tokio::test]
async fn a_new_holder_of_tipo_azienda_confirms_its_data() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "marco.test@pec.it")], AZIENDA.holder),
    )
    .await;
    let link = s.link(&id, "new_holder", AZIENDA.email).await;
    ok(
        &decide(&s, &link, &[("marco.test@pec.it", true)]).await,
        200,
        "decisions",
    );
    let party = s.call("GET", "/v1/party", As::Link(&link), None).await;
    assert_eq!(party.body["role"], "new_holder");
    assert_eq!(
        party.body["steps_left"],
        json!(["holder_data", "contract", "sms", "email"])
    );
    let data = &party.body["holder_data"];
    assert_eq!(data["ragione_sociale"], "Test Azienda S.r.l.");
    assert_eq!(
        (
            data["codice_fiscale"].as_str(),
            data["partita_iva"].as_str()
        ),
        (Some("12345670587"), Some("12345670587"))
    );
    assert!(
        data["wrong_ragione_sociale"]["url"].is_string() && data["wrong_codes"]["url"].is_string()
    );
    let early = s
        .call(
            "POST",
            "/v1/party/contract",
            As::Link(&link),
            Some(json!({"accepted": ["privacy"]})),
        )
        .await;
    ok(&early, 409, "the contract comes after the holder data");
    let refused = s
        .call(
            "PUT",
            "/v1/party/holder-data",
            As::Link(&link),
            Some(json!({"confirm": false})),
        )
        .await;
    ok(&refused, 422, "data not confirmed");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("cambio ragione sociale")
    );
    ok(
        &current_holder_part(&s, &id, &MARCO, &[("marco.test@pec.it", true)]).await,
        200,
        "current holder",
    );
    let last = new_holder_part(&s, &id, &AZIENDA, &[("marco.test@pec.it", true)]).await;
    ok(&last, 200, "new holder");
    assert_eq!(last.body["status"], "completed");
    let transfer = get_transfer(&s, &id).await;
    let accepted: Vec<&str> = transfer["accepted_conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["version"].as_str().unwrap())
        .collect();
    assert!(!accepted.is_empty(), "the versions accepted are recorded");
    let mailbox = s
        .call(
            "GET",
            "/v1/mailboxes/marco.test@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(mailbox.body["holder_id"], AZIENDA.holder);
}

#[tokio::test]
async fn hand_over_moves_the_mailbox_to_the_named_account() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let mut body = draft_body(&[("mailbox", "demo@pec.it")], TESTDUE.holder);
    body["management"] = json!({"mode": "hand_over", "username": "demo2"});
    let id = open_transfer(&s, body).await;
    ok(
        &current_holder_part(&s, &id, &INITIATOR, &[("demo@pec.it", true)]).await,
        200,
        "current",
    );
    let link = s.link(&id, "new_holder", TESTDUE.email).await;
    ok(
        &decide(&s, &link, &[("demo@pec.it", true)]).await,
        200,
        "decisions",
    );
    let wrong = s
        .call(
            "POST",
            "/v1/party/login",
            As::AccountWithLink("demo", &link),
            None,
        )
        .await;
    ok(&wrong, 403, "only the named account");
    let early = flow::verify_code_send_only(&s, &link, "sms").await;
    ok(&early, 409, "the new holder logs in before the codes");
    let last = new_holder_part(&s, &id, &TESTDUE, &[("demo@pec.it", true)]).await;
    ok(&last, 200, "new holder");
    assert_eq!(last.body["status"], "completed");
    let gone = s
        .call(
            "GET",
            "/v1/mailboxes/demo@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    ok(&gone, 404, "no longer the initiator's account");
    let there = s
        .call(
            "GET",
            "/v1/mailboxes/demo@pec.it",
            As::Account("demo2"),
            None,
        )
        .await;
    ok(&there, 200, "now in demo2");
    assert_eq!(there.body["holder_id"], TESTDUE.holder);
    assert_eq!(there.body["password_reset_required"], true);
    let profile = s
        .call(
            "GET",
            &format!("/v1/holders/{}", TESTDUE.holder),
            As::Account("demo2"),
            None,
        )
        .await;
    ok(&profile, 200, "the new holder's profile came along");
    // Here the initiator is also the current holder: one confirmation for each role, and
    // the initiator's says where the items went.
    let subject = format!("Cambio titolare concluso (richiesta {id})");
    let told = emails_with(&s, INITIATOR.email, &subject, 2).await;
    assert_eq!(told.len(), 2, "told as initiator and as current holder");
    let left: Vec<&Value> = told
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .unwrap()
                .contains("sono ora gestiti dall'account demo2")
        })
        .collect();
    assert_eq!(
        left.len(),
        1,
        "the initiator learns the items left its account"
    );
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
    let ops = s
        .call("GET", "/v1/operations", As::Account("demo2"), None)
        .await;
    assert!(
        ops.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["subject"] == id.as_str())
    );
}

#[tokio::test]
async fn the_current_holder_rejecting_everything_ends_the_transfer() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let items = [
        ("mailbox", "teste1234@pec.it"),
        ("domain", "testazienda-pec.it"),
    ];
    let id = open_transfer(&s, draft_body(&items, TESTDUE.holder)).await;
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    let new_link = s.link(&id, "new_holder", TESTDUE.email).await;
    let ended = decide(
        &s,
        &link,
        &[("teste1234@pec.it", false), ("testazienda-pec.it", false)],
    )
    .await;
    ok(&ended, 200, "rejection");
    let transfer = get_transfer(&s, &id).await;
    assert_eq!(transfer["status"], "rejected");
    let late = s.call("GET", "/v1/party", As::Link(&new_link), None).await;
    ok(&late, 409, "the other party is told it ended");
    assert_eq!(late.body["type"], "urn:titolare:problem:request-ended");
    let subject = format!("Cambio titolare rifiutato (richiesta {id})");
    for to in [INITIATOR.email, AZIENDA.email, TESTDUE.email] {
        let told = emails_with(&s, to, &subject, 1).await;
        assert_eq!(told.len(), 1, "{to} is told");
        assert!(
            told[0]["text"]
                .as_str()
                .unwrap()
                .contains("rifiutato dall'attuale titolare"),
            "{to} is told who rejected: {}",
            told[0]["text"]
        );
    }
    let again = draft_status(&s, transfer_body_again(&items)).await;
    assert_eq!(again.0, 201, "the items are free again: {}", again.1);
}

fn transfer_body_again(items: &[(&str, &str)]) -> Value {
    draft_body(items, MARCO.holder)
}

#[tokio::test]
async fn the_initiator_cancels() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let items = [("mailbox", "teste1234@pec.it")];
    let id = open_transfer(&s, draft_body(&items, TESTDUE.holder)).await;
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    let cancelled = s
        .call(
            "POST",
            &format!("/v1/transfers/{id}/cancel"),
            As::Account("demo"),
            None,
        )
        .await;
    ok(&cancelled, 200, "cancel");
    assert_eq!(cancelled.body["status"], "cancelled");
    let twice = s
        .call(
            "POST",
            &format!("/v1/transfers/{id}/cancel"),
            As::Account("demo"),
            None,
        )
        .await;
    ok(&twice, 409, "ends once");
    let late = decide(&s, &link, &[("teste1234@pec.it", true)]).await;
    ok(&late, 409, "no step after an ending");
    let subject = format!("Cambio titolare annullato (richiesta {id})");
    for to in [INITIATOR.email, AZIENDA.email, TESTDUE.email] {
        assert_eq!(
            emails_with(&s, to, &subject, 1).await.len(),
            1,
            "{to} is told"
        );
    }
    let other = s
        .call(
            "POST",
            &format!("/v1/transfers/{id}/cancel"),
            As::Account("demo2"),
            None,
        )
        .await;
    ok(
        &other,
        404,
        "another account's request does not exist for it",
    );
    assert_eq!(
        draft_status(&s, draft_body(&items, MARCO.holder)).await.0,
        201,
        "free again"
    );
}

#[tokio::test]
async fn the_deadline_holds_to_the_second_and_the_expirer_ends_the_transfer() {
    use titolare_domain::ports::Clock;
    // A clock that moves only when told: "to the second" means exactly that here.
    let gw = local_gateway_frozen().await;
    let s = surface(&gw);
    let items = [("mailbox", "teste1234@pec.it")];
    let id = open_transfer(&s, draft_body(&items, TESTDUE.holder)).await;
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    let new_link = s.link(&id, "new_holder", TESTDUE.email).await;
    let deadline: jiff::Timestamp = get_transfer(&s, &id).await["deadline"]
        .as_str()
        .expect("the deadline")
        .parse()
        .unwrap();
    let now = gw.server().clock.now();
    s.advance(deadline.as_second() - now.as_second() - 1).await;
    assert_eq!(
        gw.server().clock.now().as_second(),
        deadline.as_second() - 1
    );
    ok(
        &decide(&s, &link, &[("teste1234@pec.it", true)]).await,
        200,
        "a step one second before the deadline",
    );
    assert_eq!(
        gw.server().clock.now().as_second(),
        deadline.as_second() - 1,
        "the clock stood still"
    );
    let before = get_transfer(&s, &id).await;
    s.advance(1).await;
    let late = decide(&s, &new_link, &[("teste1234@pec.it", true)]).await;
    ok(&late, 410, "a step at the deadline's own second");
    assert!(late.body["detail"].as_str().unwrap().contains("scaduta"));
    let mut after = Value::Null;
    for _ in 0..100 {
        after = get_transfer(&s, &id).await;
        if after["status"] == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(after["status"], "expired", "the expirer ended it");
    assert_eq!(
        after["items"][0]["new_holder"],
        Value::Null,
        "the late step changed nothing"
    );
    assert_eq!(
        before["items"],
        json!(
            after["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    i["outcome"] = Value::Null;
                    i
                })
                .collect::<Vec<_>>()
        )
    );
    let subject = format!("Cambio titolare scaduto (richiesta {id})");
    for to in [INITIATOR.email, AZIENDA.email, TESTDUE.email] {
        assert_eq!(
            emails_with(&s, to, &subject, 1).await.len(),
            1,
            "{to} is told once"
        );
    }
    let ops = s
        .call("GET", "/v1/operations", As::Account("demo"), None)
        .await;
    let entries = ops.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["subject"] == id.as_str())
        .count();
    assert_eq!(entries, 1, "one outcome");
    assert_eq!(
        draft_status(&s, draft_body(&items, MARCO.holder)).await.0,
        201,
        "free again"
    );
}

#[tokio::test]
async fn an_unverified_draft_ends_after_24_hours() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let items = [("mailbox", "teste1234@pec.it")];
    let (status, draft) = draft_status(&s, draft_body(&items, TESTDUE.holder)).await;
    assert_eq!(status, 201);
    assert_eq!(
        draft_status(&s, draft_body(&items, MARCO.holder)).await.0,
        409,
        "a draft counts"
    );
    s.advance(86_400).await;
    assert_eq!(
        draft_status(&s, draft_body(&items, MARCO.holder)).await.0,
        201,
        "it let go"
    );
    let id = draft["id"].as_str().unwrap();
    let path = format!("/v1/transfers/{id}/codes");
    let late = s
        .call(
            "POST",
            &path,
            As::Account("demo"),
            Some(json!({"channel": "sms"})),
        )
        .await;
    ok(&late, 410, "too late to verify");
    // The initiator alone is told, in the words of a draft never confirmed.
    let subject = format!("Cambio titolare scaduto (richiesta {id})");
    let told = emails_with(&s, INITIATOR.email, &subject, 1).await;
    assert_eq!(told.len(), 1, "the initiator is told");
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .contains("non è stata confermata con il codice inviato al tuo cellulare"),
        "{}",
        told[0]["text"]
    );
    for holder in [AZIENDA.email, TESTDUE.email] {
        assert!(
            s.emails_to(holder).await.is_empty(),
            "{holder} never heard of it"
        );
    }
}

#[tokio::test]
async fn same_fiscal_identity_only() {
    let rules = Rules {
        same_fiscal_identity_only: true,
        ..Rules::default()
    };
    let gw = local_gateway_with(rules).await;
    let s = surface(&gw);
    let items = [("mailbox", "marco.test@pec.it")];
    let (status, body) = draft_status(&s, draft_body(&items, TESTDUE.holder)).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["errors"]["new_holder_id"]
            .as_str()
            .unwrap()
            .contains("codice fiscale")
    );
    let marco = s
        .call(
            "GET",
            &format!("/v1/holders/{}", MARCO.holder),
            As::Account("demo"),
            None,
        )
        .await;
    let mut same_person = json!({"tipo": "libero_professionista", "partita_iva": "12345670587"});
    // Marco's own fields, as a profile of another role would carry them.
    const PERSON: [&str; 9] = [
        "nome",
        "cognome",
        "codice_fiscale",
        "indirizzo",
        "cap",
        "provincia",
        "comune",
        "cellulare",
        "email",
    ];
    for field in PERSON {
        same_person[field] = marco.body[field].clone();
    }
    // Security review, medium 5: an azienda whose legal representative's codice fiscale (a
    // field the account may edit) is the current holder's is another fiscal subject.
    let mut company = json!({
        "tipo": "azienda", "ragione_sociale": "Altra Impresa S.r.l.", "partita_iva": "00000010017",
        "codice_fiscale_azienda": "00000010017",
    });
    for field in PERSON {
        company[field] = marco.body[field].clone();
    }
    let body = json!({"items": [{"kind": "mailbox", "id": "marco.test@pec.it"}], "management": {"mode": "keep"}, "new_holder": company});
    let (status, refused) = draft_status(&s, body).await;
    assert_eq!(status, 422, "the legal representative's code: {refused}");
    assert!(refused["errors"]["new_holder_id"].is_string(), "{refused}");
    let body = json!({"items": [{"kind": "mailbox", "id": "marco.test@pec.it"}], "management": {"mode": "keep"}, "new_holder": same_person});
    let (status, created) = draft_status(&s, body).await;
    assert_eq!(
        status, 201,
        "the same codice fiscale as a professional: {created}"
    );
    let unset = local_gateway().await;
    assert_eq!(
        draft_status(&surface(&unset), draft_body(&items, TESTDUE.holder))
            .await
            .0,
        201,
        "off by default"
    );
}

/// `for_transfer=true`: each listed item says whether it can go in a new request and why
/// not, in the words the wizard shows beside it (docs/rules.md, "Eligible items").
#[tokio::test]
async fn a_listing_says_why_an_item_cannot_go_in_a_request() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let listed = s
        .call(
            "GET",
            "/v1/mailboxes?held_by_others=true&for_transfer=true&page_size=100",
            As::Account("demo"),
            None,
        )
        .await;
    ok(&listed, 200, "listing");
    let row = |address: &str| {
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["address"] == address)
            .cloned()
            .unwrap_or_else(|| panic!("{address} listed"))
    };
    assert_eq!(
        row("teste1234@pec.it")["unavailable"],
        json!({"reason": "in_request", "transfer": id, "text": format!("in una richiesta in corso, n. {id}")})
    );
    assert_eq!(
        row("sospesa@pec.it")["unavailable"],
        json!({"reason": "not_active", "status": "Sospeso", "text": "sospesa"})
    );
    assert!(
        row("marco.test@pec.it").get("unavailable").is_none(),
        "available"
    );
    let plain = s
        .call(
            "GET",
            "/v1/mailboxes?held_by_others=true",
            As::Account("demo"),
            None,
        )
        .await;
    assert!(
        plain.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("unavailable").is_none()),
        "only when asked"
    );
    let domains = s
        .call(
            "GET",
            "/v1/domains?for_transfer=true",
            As::Account("demo"),
            None,
        )
        .await;
    ok(&domains, 200, "domains");
    let bad = s
        .call(
            "GET",
            "/v1/domains?for_transfer=yes",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}

/// 48 and 24 hours before the deadline the holder who has not finished gets the invitation
/// again as a reminder, by itself; the one who finished gets nothing; each counts with the
/// invitations sent by hand and is on the request's trail (docs/rules.md, "Reminders").
#[tokio::test]
async fn the_holder_who_has_not_finished_is_reminded_before_the_deadline() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    ok(
        &current_holder_part(&s, &id, &AZIENDA, &[("teste1234@pec.it", true)]).await,
        200,
        "current holder done",
    );
    let subject = format!("Promemoria: cambio titolare di servizi PEC (richiesta {id})");
    // Three days after opening: 48 hours are left.
    s.advance(72 * 3600 + 5).await;
    let first = emails_with(&s, TESTDUE.email, &subject, 1).await;
    assert_eq!(first.len(), 1, "the first reminder");
    let text = first[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Ti ricordiamo che la richiesta scade il")
            && text.contains("/gestisci#token="),
        "{text}"
    );
    let view = get_transfer(&s, &id).await;
    assert_eq!(view["contacts"]["new_holder"]["invitations"], 2, "{view}");
    assert_eq!(
        view["contacts"]["current_holder"]["invitations"], 1,
        "finished: not reminded"
    );
    let lines: Vec<&Value> = view["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "reminder_sent")
        .collect();
    assert_eq!(lines.len(), 1, "{view}");
    assert!(lines[0]["party"].is_null(), "the service's own line");
    // A day later, the second; then nothing more until the request expires.
    s.advance(24 * 3600).await;
    assert_eq!(
        emails_with(&s, TESTDUE.email, &subject, 2).await.len(),
        2,
        "the second reminder"
    );
    s.advance(24 * 3600).await;
    let expired = format!("Cambio titolare scaduto (richiesta {id})");
    assert_eq!(emails_with(&s, TESTDUE.email, &expired, 1).await.len(), 1);
    // The expiry came after every reminder: what was sent is all there is.
    let reminders = |to: &'static str| {
        let s = &s;
        let subject = subject.clone();
        async move {
            s.emails_to(to)
                .await
                .into_iter()
                .filter(|m| m["subject"] == subject.as_str())
                .count()
        }
    };
    assert_eq!(reminders(TESTDUE.email).await, 2, "two in all");
    assert_eq!(
        reminders(AZIENDA.email).await,
        0,
        "the holder who finished is not reminded"
    );
}

#[tokio::test]
async fn post_change_lock_days() {
    let rules = Rules {
        post_change_lock: Some(jiff::SignedDuration::from_hours(60 * 24)),
        ..Rules::default()
    };
    let gw = local_gateway_with(rules).await;
    let s = surface(&gw);
    let items = [("mailbox", "marco.test@pec.it")];
    let id = open_transfer(&s, draft_body(&items, TESTDUE.holder)).await;
    ok(
        &current_holder_part(&s, &id, &MARCO, &[("marco.test@pec.it", true)]).await,
        200,
        "current",
    );
    let last = new_holder_part(&s, &id, &TESTDUE, &[("marco.test@pec.it", true)]).await;
    assert_eq!(last.body["status"], "completed");
    let (status, body) = draft_status(&s, draft_body(&items, INITIATOR.holder)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["type"], "urn:titolare:problem:items-busy");
    assert!(
        body["errors"]["items[0]"]
            .as_str()
            .unwrap()
            .contains("ha cambiato titolare da poco")
    );
    let listed = s
        .call(
            "GET",
            "/v1/mailboxes?address=marco.test&for_transfer=true",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(
        listed.body["items"][0]["unavailable"]["reason"], "recent_change",
        "{}",
        listed.body
    );
    s.advance(60 * 86_400).await;
    assert_eq!(
        draft_status(&s, draft_body(&items, INITIATOR.holder))
            .await
            .0,
        201,
        "after 60 days"
    );
    let unset = local_gateway().await;
    let s = surface(&unset);
    let id = open_transfer(&s, draft_body(&items, TESTDUE.holder)).await;
    ok(
        &current_holder_part(&s, &id, &MARCO, &[("marco.test@pec.it", true)]).await,
        200,
        "current",
    );
    new_holder_part(&s, &id, &TESTDUE, &[("marco.test@pec.it", true)]).await;
    assert_eq!(
        draft_status(&s, draft_body(&items, INITIATOR.holder))
            .await
            .0,
        201,
        "off by default"
    );
}

#[tokio::test]
async fn fifty_identical_decisions_apply_once() {
    fifty_identical_decisions_apply_once_on(local_gateway().await).await;
}

/// Real concurrency on AWS's DynamoDB Local, no lock: the conditions alone decide.
#[tokio::test]
async fn fifty_identical_decisions_apply_once_on_dynamodb_local() {
    fifty_identical_decisions_apply_once_on(on_dynamodb_local().await).await;
}

async fn fifty_identical_decisions_apply_once_on(gw: LocalGateway) {
    let s = Arc::new(surface(&gw));
    let id = open_transfer(
        &*s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (s, link) = (s.clone(), link.clone());
        tasks.push(tokio::spawn(async move {
            decide(&*s, &link, &[("teste1234@pec.it", true)])
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200, "a repeat is answered as the first");
    }
    let transfer = get_transfer(&*s, &id).await;
    let decisions = transfer["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "decisions")
        .count();
    assert_eq!(decisions, 1, "applied once");
}

#[tokio::test]
async fn fifty_final_verifications_complete_once() {
    fifty_final_verifications_complete_once_on(local_gateway().await).await;
}

/// Real concurrency on AWS's DynamoDB Local, no lock: the conditions alone decide.
#[tokio::test]
async fn fifty_final_verifications_complete_once_on_dynamodb_local() {
    fifty_final_verifications_complete_once_on(on_dynamodb_local().await).await;
}

async fn fifty_final_verifications_complete_once_on(gw: LocalGateway) {
    let s = Arc::new(surface(&gw));
    let item = [("marco.test@pec.it", true)];
    let id = open_transfer(
        &*s,
        draft_body(&[("mailbox", "marco.test@pec.it")], TESTDUE.holder),
    )
    .await;
    ok(
        &current_holder_part(&*s, &id, &MARCO, &item).await,
        200,
        "current",
    );
    let link = s.link(&id, "new_holder", TESTDUE.email).await;
    ok(&decide(&*s, &link, &item).await, 200, "decisions");
    let conditions = json!({"accepted": ["condizioni-generali", "privacy"]});
    ok(
        &s.call(
            "POST",
            "/v1/party/contract",
            As::Link(&link),
            Some(conditions),
        )
        .await,
        200,
        "contract",
    );
    ok(
        &flow::verify_code(&*s, &id, &link, "new_holder", "sms", TESTDUE.mobile).await,
        200,
        "sms",
    );
    ok(
        &flow::verify_code_send_only(&*s, &link, "email").await,
        202,
        "email code",
    );
    let code = s.code(&id, "new_holder", "email", TESTDUE.email).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (s, link, code) = (s.clone(), link.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            s.call(
                "POST",
                "/v1/party/codes/verify",
                As::Link(&link),
                Some(json!({"channel": "email", "code": code})),
            )
            .await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status);
    }
    // The first applies; a repeat of the approved code is answered as it was (200), one
    // that lost the race before it was stored gets a 409; the completion happens once.
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let transfer = get_transfer(&*s, &id).await;
    assert_eq!(transfer["status"], "completed");
    let verified = transfer["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "email_verified");
    assert_eq!(verified.count(), 1, "{statuses:?}");
    let subject = format!("Cambio titolare concluso (richiesta {id})");
    for to in [INITIATOR.email, MARCO.email, TESTDUE.email] {
        assert_eq!(
            emails_with(&*s, to, &subject, 1).await.len(),
            1,
            "one confirmation to {to}"
        );
    }
    let ops = s
        .call("GET", "/v1/operations", As::Account("demo"), None)
        .await;
    let entries = ops.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["subject"] == id.as_str())
        .count();
    assert_eq!(entries, 1, "one outcome");
}

#[tokio::test]
async fn two_drafts_race_for_one_mailbox() {
    two_drafts_race_for_one_mailbox_on(local_gateway().await).await;
}

/// Real concurrency on AWS's DynamoDB Local, no lock: the conditions alone decide.
#[tokio::test]
async fn two_drafts_race_for_one_mailbox_on_dynamodb_local() {
    two_drafts_race_for_one_mailbox_on(on_dynamodb_local().await).await;
}

async fn two_drafts_race_for_one_mailbox_on(gw: LocalGateway) {
    let s = Arc::new(surface(&gw));
    let mut tasks = Vec::new();
    for holder in [TESTDUE.holder, MARCO.holder] {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            draft_status(&*s, draft_body(&[("mailbox", "teste1234@pec.it")], holder)).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_by_key(|(s, _)| *s);
    assert_eq!((statuses[0].0, statuses[1].0), (201, 409), "{statuses:?}");
    assert!(
        statuses[1].1["errors"]["items[0]"]
            .as_str()
            .unwrap()
            .contains("è in una richiesta in corso")
    );
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_answer() {
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let body = draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder).to_string();
    let headers = [("idempotency-key", "draft-1")];
    let send = || {
        gw.client
            .send_with("POST", "/v1/transfers", Some(&token), Some(&body), &headers)
    };
    let (first, second) = (send().await, send().await);
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(
        first.body["id"], second.body["id"],
        "the same draft, not a second one"
    );
    let other = draft_body(&[("mailbox", "marco.test@pec.it")], TESTDUE.holder).to_string();
    let reused = gw
        .client
        .send_with(
            "POST",
            "/v1/transfers",
            Some(&token),
            Some(&other),
            &headers,
        )
        .await;
    assert_eq!(reused.status, 422, "a key is for one request only");
}

#[tokio::test]
async fn bad_requests_get_4xx_and_write_nothing() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    // Each refusal with its status, problem type and the field it names (None: the body).
    let k = |id: &str| json!({"kind": "mailbox", "id": id});
    let keep = json!({"mode": "keep"});
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"items": [], "management": keep, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("items"),
        ),
        (
            json!({"items": [k("nessuna@pec.it")], "management": keep, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("items[0]"),
        ),
        (
            json!({"items": [k("sospesa@pec.it")], "management": keep, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("items[0]"),
        ),
        (
            json!({"items": [k("teste1234@pec.it"), k("demo@pec.it")], "management": keep, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("items"),
        ),
        (
            json!({"items": [k("teste1234@pec.it"), k("TESTE1234@pec.it")], "management": keep, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("items[1]"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": keep, "new_holder_id": "534905"}),
            422,
            "validation",
            Some("new_holder_id"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": keep, "new_holder_id": "123"}),
            422,
            "validation",
            Some("new_holder_id"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": keep}),
            422,
            "validation",
            Some("new_holder_id"),
        ),
        // An unknown username is told only at the initiator's verification (no username
        // oracle: tests/hostile.rs); a malformed one at once.
        (
            json!({"items": [k("teste1234@pec.it")], "management": {"mode": "hand_over", "username": "no spaces"}, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("management.username"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": {"mode": "hand_over", "username": "demo"}, "new_holder_id": "963300"}),
            422,
            "validation",
            Some("management.username"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": {"mode": "sell"}, "new_holder_id": "963300"}),
            400,
            "bad-request",
            Some("management.mode"),
        ),
        (
            json!({"items": [{"kind": "fax", "id": "x"}], "management": keep, "new_holder_id": "963300"}),
            400,
            "bad-request",
            Some("items[0].kind"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": keep, "new_holder": {"tipo": "privato"}}),
            422,
            "validation",
            Some("new_holder.nome"),
        ),
        (
            json!({"items": "teste1234@pec.it"}),
            400,
            "bad-request",
            Some("items"),
        ),
        (
            json!({"items": [k("teste1234@pec.it")], "management": keep, "new_holder_id": "963300", "extra": 1}),
            400,
            "bad-request",
            Some("extra"),
        ),
    ];
    for (body, status, kind, field) in cases {
        let (got, answer) = draft_status(&s, body.clone()).await;
        assert_eq!(
            (got, answer["type"].as_str()),
            (
                status,
                Some(format!("urn:titolare:problem:{kind}").as_str())
            ),
            "{body} → {answer}"
        );
        if let Some(field) = field {
            assert!(
                answer["errors"][field].is_string(),
                "{body} names {field}: {answer}"
            );
        }
    }
    let raw = gw
        .client
        .send(
            "POST",
            "/v1/transfers",
            Some(&gw.client.login("demo").await),
            Some("{not json"),
        )
        .await;
    assert_eq!(raw.status, 400);
    let listed = s
        .call("GET", "/v1/transfers", As::Account("demo"), None)
        .await;
    assert_eq!(listed.body["items"], json!([]), "nothing half-written");
    let bad_link = s
        .call("GET", "/v1/party", As::Link("1.nh.forged"), None)
        .await;
    ok(&bad_link, 401, "a forged link");
    let bad_status = s
        .call(
            "GET",
            "/v1/transfers?status=finito",
            As::Account("demo"),
            None,
        )
        .await;
    ok(&bad_status, 400, "unknown status");
    let reset = s
        .call(
            "POST",
            "/v1/password-reset",
            As::Nobody,
            Some(json!({"token": "a.b.c.d", "password": "Qualcosa-2026"})),
        )
        .await;
    ok(&reset, 401, "a forged reset token");
    // Holder steps with wrong bodies, on a real open request.
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let link = s.link(&id, "new_holder", TESTDUE.email).await;
    for (method, path, body, status) in [
        (
            "POST",
            "/v1/party/decisions",
            json!({"decisions": [{"item": "altro@pec.it", "accept": true}]}),
            400,
        ),
        ("POST", "/v1/party/decisions", json!({"decisions": []}), 400),
        (
            "POST",
            "/v1/party/decisions",
            json!({"decisions": [{"item": "teste1234@pec.it"}]}),
            400,
        ),
        (
            "PUT",
            "/v1/party/holder-data",
            json!({"confirm": true}),
            409,
        ),
        (
            "POST",
            "/v1/party/contract",
            json!({"accepted": "privacy"}),
            400,
        ),
    ] {
        let reply = s
            .call(method, path, As::Link(&link), Some(body.clone()))
            .await;
        assert_eq!(reply.status, status, "{path} {body} → {}", reply.body);
    }
    let party = s.call("GET", "/v1/party", As::Link(&link), None).await;
    assert_eq!(party.body["steps_done"], json!([]), "nothing applied");
}

/// A second `hand_over` to the same account keeps that account's copy of the new holder as
/// the account has made it: its own edits stay, and its search finds the holder by the
/// edited value only (no stale index entries).
#[tokio::test]
async fn a_second_hand_over_keeps_the_target_accounts_copy_of_the_holder() {
    use titolare_domain::ports::{Fixtures, MailboxReader};
    let gw = local_gateway().await;
    let s = surface(&gw);
    // A second mailbox of holder 19 in `demo`, like demo@pec.it.
    let demo = titolare_domain::AccountId::parse("demo").unwrap();
    let store = &gw.server().store;
    let address = |a: &str| titolare_domain::values::EmailAddress::parse(a).unwrap();
    let mut second = store
        .mailbox(&demo, &address("demo@pec.it"))
        .await
        .unwrap()
        .unwrap();
    second.address = address("seconda@pec.it");
    store.put_mailbox(&demo, &second).await.unwrap();

    let hand_over = |mailbox: &'static str| {
        let s = &s;
        async move {
            let mut body = draft_body(&[("mailbox", mailbox)], TESTDUE.holder);
            body["management"] = json!({"mode": "hand_over", "username": "demo2"});
            let id = open_transfer(s, body).await;
            ok(
                &current_holder_part(s, &id, &INITIATOR, &[(mailbox, true)]).await,
                200,
                "current holder",
            );
            let last = new_holder_part(s, &id, &TESTDUE, &[(mailbox, true)]).await;
            assert_eq!(last.body["status"], "completed", "{}", last.body);
        }
    };
    hand_over("demo@pec.it").await;
    // demo2 corrects its copy of the holder.
    let path = format!("/v1/holders/{}", TESTDUE.holder);
    let edited = s
        .call(
            "PATCH",
            &path,
            As::Account("demo2"),
            Some(json!({"indirizzo": "Via Nuova 9"})),
        )
        .await;
    ok(&edited, 200, "demo2 edits its copy");
    hand_over("seconda@pec.it").await;

    let copy = s.call("GET", &path, As::Account("demo2"), None).await;
    ok(&copy, 200, "the copy");
    assert_eq!(copy.body["indirizzo"], "Via Nuova 9", "demo2's edit stays");
    let there = s
        .call(
            "GET",
            "/v1/mailboxes/seconda@pec.it",
            As::Account("demo2"),
            None,
        )
        .await;
    ok(&there, 200, "the second mailbox moved");
    assert_eq!(there.body["holder_id"], TESTDUE.holder);
    let found = s
        .call(
            "GET",
            "/v1/holders?cognome=duetest",
            As::Account("demo2"),
            None,
        )
        .await;
    ok(&found, 200, "search");
    let hits: Vec<&Value> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["id"] == TESTDUE.holder)
        .collect();
    assert_eq!(hits.len(), 1, "one entry: {}", found.body);
}

/// Twenty right codes at once on DynamoDB Local, no lock: one approval, one step.
#[tokio::test]
async fn twenty_concurrent_right_codes_approve_once_on_dynamodb_local() {
    let gw = on_dynamodb_local().await;
    let s = Arc::new(surface(&gw));
    let id = open_transfer(
        &*s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    ok(
        &decide(&*s, &link, &[("teste1234@pec.it", true)]).await,
        200,
        "decisions",
    );
    ok(
        &verify_code_send_only(&*s, &link, "sms").await,
        202,
        "sms code",
    );
    let code = s.code(&id, "current_holder", "sms", AZIENDA.mobile).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, link, code) = (s.clone(), link.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            s.call(
                "POST",
                "/v1/party/codes/verify",
                As::Link(&link),
                Some(json!({"channel": "sms", "code": code})),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let transfer = get_transfer(&*s, &id).await;
    let approvals = transfer["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "sms_verified" && a["party"] == "current_holder")
        .count();
    assert_eq!(approvals, 1, "{statuses:?}");
}
