//! `Idempotency-Key` on every POST and PUT route, over the local gateway, one route after
//! the other through a whole `hand_over` change of holder: two calls at once with one key
//! give one effect and the same answer; a third is a replay (`idempotent-replayed: true`);
//! the key with another body is refused (422); the effect is counted where it shows.

use serde_json::{Value, json};
use std::future::Future;
use titolare_e2e::flow::*;
use titolare_e2e::{GatewaySurface, HttpClient, LocalGateway, Reply, local_gateway};

/// Who calls: an account's JWT, a holder's link, both (the new holder's login), or nobody.
#[derive(Clone, Copy)]
enum Caller<'a> {
    Account(&'a str),
    Link(&'a str),
    AccountWithLink(&'a str, &'a str),
    Nobody,
}

struct Route<'a> {
    method: &'a str,
    path: String,
    caller: Caller<'a>,
    body: Option<Value>,
    /// Another (valid) body for the same key; none for a route that takes no body.
    other: Option<Value>,
}

async fn send(client: &HttpClient, route: &Route<'_>, body: Option<&Value>, key: &str) -> Reply {
    let text = body.map(Value::to_string);
    let mut headers = vec![("idempotency-key", key)];
    let bearer = match route.caller {
        Caller::Account(token) | Caller::Link(token) => Some(token),
        Caller::AccountWithLink(token, link) => {
            headers.push(("x-link-token", link));
            Some(token)
        }
        Caller::Nobody => None,
    };
    client
        .send_with(route.method, &route.path, bearer, text.as_deref(), &headers)
        .await
}

/// The routes [`once_per_key`] has checked, as the route table names them.
static COVERED: std::sync::Mutex<std::collections::BTreeSet<(&str, &str)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// The four checks on one route; `effects` counts what the route did.
async fn once_per_key<F, Fut>(client: &HttpClient, route: Route<'_>, effects: F) -> Reply
where
    F: Fn() -> Fut,
    Fut: Future<Output = usize>,
{
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let all: Vec<_> = titolare_api::routes::ROUTES.iter().collect();
    let titolare_api::routes::Match::Found(template, _) =
        titolare_api::routes::find(&all, route.method, &route.path)
    else {
        panic!("{} {} is not routed", route.method, route.path)
    };
    COVERED
        .lock()
        .unwrap()
        .insert((template.method, template.path));
    let key = format!("key-{n}-{}", route.method);
    let before = effects().await;
    let (a, b) = tokio::join!(
        send(client, &route, route.body.as_ref(), &key),
        send(client, &route, route.body.as_ref(), &key)
    );
    let what = format!("{} {}", route.method, route.path);
    assert!(a.status < 300, "{what}: {} {}", a.status, a.body);
    assert_eq!(
        (a.status, &a.body),
        (b.status, &b.body),
        "{what}: one answer"
    );
    let replay = send(client, &route, route.body.as_ref(), &key).await;
    assert_eq!((replay.status, &replay.body), (a.status, &a.body), "{what}");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"), "{what}");
    if let Some(other) = &route.other {
        let reused = send(client, &route, Some(other), &key).await;
        assert_eq!(
            (reused.status, reused.body["type"].as_str()),
            (422, Some("urn:titolare:problem:idempotency-key-reused")),
            "{what}: {}",
            reused.body
        );
    }
    assert_eq!(effects().await, before + 1, "{what}: one effect");
    a
}

/// How many lines of `action` by `party` the request's audit trail holds.
async fn audit(s: &GatewaySurface, id: &str, party: &str, action: &str) -> usize {
    let request = s
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    request.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["party"] == party && a["action"] == action)
        .count()
}

const BUYER_EMAIL: &str = "ordini@compratore.example.it";
const BUYER_MOBILE: &str = "+393470000888";

#[tokio::test]
async fn every_post_and_put_applies_once_per_key() {
    let gw: LocalGateway = local_gateway().await;
    let (client, s) = (&gw.client, &GatewaySurface::new(gw.client.clone()));
    let demo = client.login("demo").await;
    let demo2 = client.login("demo2").await;

    // A holder: the new holder of the request below (an azienda: it confirms its data).
    let holder = json!({
        "tipo": "azienda", "ragione_sociale": "Compratore S.r.l.", "partita_iva": "00000010017",
        "codice_fiscale_azienda": "00000010017", "indirizzo": "Via Po 1", "cap": "00198",
        "provincia": "RM", "comune": "Roma", "cellulare": BUYER_MOBILE, "email": BUYER_EMAIL,
    });
    let mut other_holder = holder.clone();
    other_holder["ragione_sociale"] = json!("Altro S.r.l.");
    let by_piva = || async {
        let found = s
            .call(
                "GET",
                "/v1/holders?partita_iva=00000010017",
                As::Account("demo"),
                None,
            )
            .await;
        found.body["total"].as_u64().unwrap_or(0) as usize
    };
    let created = once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/holders".into(),
            caller: Caller::Account(&demo),
            body: Some(holder),
            other: Some(other_holder),
        },
        by_piva,
    )
    .await;
    let buyer = created.body["id"].as_str().unwrap().to_owned();

    // A draft handing teste1234@pec.it over to demo2.
    let draft = json!({
        "items": [{"kind": "mailbox", "id": "teste1234@pec.it"}],
        "management": {"mode": "hand_over", "username": "demo2"},
        "new_holder_id": buyer,
    });
    let listed = || async {
        let list = s
            .call("GET", "/v1/transfers", As::Account("demo"), None)
            .await;
        list.body["items"].as_array().unwrap().len()
    };
    let created = once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/transfers".into(),
            caller: Caller::Account(&demo),
            body: Some(draft),
            other: Some(json!({
                "items": [{"kind": "mailbox", "id": "marco.test@pec.it"}],
                "management": {"mode": "keep"},
                "new_holder_id": TESTDUE.holder,
            })),
        },
        listed,
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let base = format!("/v1/transfers/{id}");

    // The initiator's code: sent, then verified (the request opens).
    once_per_key(
        client,
        Route {
            method: "POST",
            path: format!("{base}/codes"),
            caller: Caller::Account(&demo),
            body: Some(json!({"channel": "sms"})),
            other: Some(json!({"channel": "email"})),
        },
        || audit(s, &id, "initiator", "code_sent"),
    )
    .await;
    let code = s.code(&id, "initiator", "sms", INITIATOR.mobile).await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: format!("{base}/codes/verify"),
            caller: Caller::Account(&demo),
            body: Some(json!({"channel": "sms", "code": code})),
            other: Some(json!({"channel": "sms", "code": "000000"})),
        },
        || audit(s, &id, "initiator", "sms_verified"),
    )
    .await;

    // A reminder to the new holder, a minute after the opening's invitation.
    s.advance(61).await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: format!("{base}/invitations"),
            caller: Caller::Account(&demo),
            body: Some(json!({"party": "new_holder"})),
            other: Some(json!({"party": "current_holder"})),
        },
        || audit(s, &id, "initiator", "invitation_sent"),
    )
    .await;

    // The current holder: decisions, code, verification.
    let ch = s.link(&id, "current_holder", AZIENDA.email).await;
    let accept = json!({"decisions": [{"item": "teste1234@pec.it", "accept": true}]});
    let reject = json!({"decisions": [{"item": "teste1234@pec.it", "accept": false}]});
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/decisions".into(),
            caller: Caller::Link(&ch),
            body: Some(accept.clone()),
            other: Some(reject.clone()),
        },
        || audit(s, &id, "current_holder", "decisions"),
    )
    .await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/codes".into(),
            caller: Caller::Link(&ch),
            body: Some(json!({"channel": "sms"})),
            other: Some(json!({"channel": "email"})),
        },
        || audit(s, &id, "current_holder", "code_sent"),
    )
    .await;
    let code = s.code(&id, "current_holder", "sms", AZIENDA.mobile).await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/codes/verify".into(),
            caller: Caller::Link(&ch),
            body: Some(json!({"channel": "sms", "code": code})),
            other: Some(json!({"channel": "sms", "code": "000000"})),
        },
        || audit(s, &id, "current_holder", "sms_verified"),
    )
    .await;

    // The new holder: decisions, login as demo2, holder data, contract, both codes.
    let nh = s.link(&id, "new_holder", BUYER_EMAIL).await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/decisions".into(),
            caller: Caller::Link(&nh),
            body: Some(accept),
            other: Some(reject),
        },
        || audit(s, &id, "new_holder", "decisions"),
    )
    .await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/login".into(),
            caller: Caller::AccountWithLink(&demo2, &nh),
            body: None,
            other: None,
        },
        || audit(s, &id, "new_holder", "login"),
    )
    .await;
    once_per_key(
        client,
        Route {
            method: "PUT",
            path: "/v1/party/holder-data".into(),
            caller: Caller::Link(&nh),
            body: Some(json!({"confirm": true})),
            other: Some(json!({"confirm": false})),
        },
        || audit(s, &id, "new_holder", "holder_data_confirmed"),
    )
    .await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/contract".into(),
            caller: Caller::Link(&nh),
            body: Some(json!({"accepted": ["condizioni-generali", "privacy"]})),
            other: Some(json!({"accepted": ["privacy"]})),
        },
        || audit(s, &id, "new_holder", "contract_accepted"),
    )
    .await;
    for channel in ["sms", "email"] {
        once_per_key(
            client,
            Route {
                method: "POST",
                path: "/v1/party/codes".into(),
                caller: Caller::Link(&nh),
                body: Some(json!({"channel": channel})),
                other: Some(json!({"channel": if channel == "sms" { "email" } else { "sms" }})),
            },
            || audit(s, &id, "new_holder", "code_sent"),
        )
        .await;
        let (to, verified) = if channel == "sms" {
            (BUYER_MOBILE, "sms_verified")
        } else {
            (BUYER_EMAIL, "email_verified")
        };
        let code = s.code(&id, "new_holder", channel, to).await;
        once_per_key(
            client,
            Route {
                method: "POST",
                path: "/v1/party/codes/verify".into(),
                caller: Caller::Link(&nh),
                body: Some(json!({"channel": channel, "code": code})),
                other: Some(json!({"channel": channel, "code": "000000"})),
            },
            || audit(s, &id, "new_holder", verified),
        )
        .await;
    }
    let request = s.call("GET", &base, As::Account("demo"), None).await;
    assert_eq!(request.body["status"], "completed");

    // The moved mailbox's password links: by a received link, by the account, then the reset.
    let links = || async {
        s.emails_to(BUYER_EMAIL)
            .await
            .iter()
            .filter(|m| {
                m["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("password#token="))
            })
            .count()
    };
    let first = s
        .reset_token("demo2", "teste1234@pec.it", BUYER_EMAIL)
        .await;
    s.advance(61).await;
    let settled = |before: usize| async move {
        // The link's email is sent right after the commit: wait for it to show.
        for _ in 0..100 {
            if links().await > before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let count = links().await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/password-reset/link".into(),
            caller: Caller::Nobody,
            body: Some(json!({"token": first})),
            // The same link written with a space: another body, the same mailbox's key scope.
            other: Some(json!({"token": format!(" {first}")})),
        },
        || async {
            settled(count).await;
            links().await
        },
    )
    .await;
    s.advance(61).await;
    let count = links().await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/mailboxes/teste1234@pec.it/password-reset-link".into(),
            caller: Caller::Account(&demo2),
            body: None,
            other: None,
        },
        || async {
            settled(count).await;
            links().await
        },
    )
    .await;
    let newest = {
        let mut tokens: Vec<String> = s
            .emails_to(BUYER_EMAIL)
            .await
            .iter()
            .filter_map(|m| {
                let text = m["text"].as_str()?;
                let start = text.find("password#token=")? + "password#token=".len();
                Some(
                    text[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                        .collect(),
                )
            })
            .collect();
        tokens.sort_by_key(|t: &String| t.split('.').nth(2).and_then(|n| n.parse::<i64>().ok()));
        tokens.pop().unwrap()
    };
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/password-reset".into(),
            caller: Caller::Nobody,
            body: Some(json!({"token": newest, "password": "Nuova-Password-7"})),
            other: Some(json!({"token": newest, "password": "Altra-Password-8"})),
        },
        || async {
            let m = s
                .call(
                    "GET",
                    "/v1/mailboxes/teste1234@pec.it",
                    As::Account("demo2"),
                    None,
                )
                .await;
            usize::from(m.body["password_reset_required"] == false)
        },
    )
    .await;

    // A second request, cancelled.
    let second = s
        .call(
            "POST",
            "/v1/transfers",
            As::Account("demo"),
            Some(json!({"items": [{"kind": "mailbox", "id": "marco.test@pec.it"}], "management": {"mode": "keep"}, "new_holder_id": TESTDUE.holder})),
        )
        .await;
    ok(&second, 201, "a second draft");
    let second = second.body["id"].as_str().unwrap().to_owned();
    once_per_key(
        client,
        Route {
            method: "POST",
            path: format!("/v1/transfers/{second}/cancel"),
            caller: Caller::Account(&demo),
            body: None,
            other: None,
        },
        || audit(s, &second, "initiator", "cancelled"),
    )
    .await;

    // A third request, stopped by its current holder with the stop link a changed number's
    // notice carries (a stop may come at any time while the request runs).
    let third = open_transfer(
        s,
        titolare_e2e::flow::draft_body(&[("mailbox", "marco.test@pec.it")], TESTDUE.holder),
    )
    .await;
    let stop = titolare_domain::transfer::StopToken::issue(
        &gw.server().key,
        &titolare_domain::transfer::TransferId::parse(&third).unwrap(),
        titolare_domain::otp::Party::CurrentHolder,
    );
    once_per_key(
        client,
        Route {
            method: "POST",
            path: "/v1/party/stop".into(),
            caller: Caller::Nobody,
            body: Some(json!({ "token": stop })),
            other: None,
        },
        || audit(s, &third, "current_holder", "stopped"),
    )
    .await;
    // A fourth request, on which the provider's support acts.
    let fourth = open_transfer(
        s,
        titolare_e2e::flow::draft_body(&[("domain", "testazienda-pec.it")], TESTDUE.holder),
    )
    .await;
    let operator = client.login("operatore").await;
    let on = |what: &str| format!("/v1/support/transfers/{fourth}/{what}");
    s.advance(61).await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: on("invitations"),
            caller: Caller::Account(&operator),
            body: Some(json!({"party": "new_holder", "reason": "Non trova l'invito"})),
            other: Some(json!({"party": "new_holder", "reason": "Un altro motivo"})),
        },
        || audit(s, &fourth, "initiator", "invitation_sent"),
    )
    .await;
    let ch = s.link(&fourth, "current_holder", AZIENDA.email).await;
    ok(
        &decide(s, &ch, &[("testazienda-pec.it", true)]).await,
        200,
        "decisions",
    );
    let sms = |reason: &str| json!({"party": "current_holder", "channel": "sms", "reason": reason});
    once_per_key(
        client,
        Route {
            method: "POST",
            path: on("codes"),
            caller: Caller::Account(&operator),
            body: Some(sms("SMS non arrivato")),
            other: Some(sms("Un altro motivo")),
        },
        || audit(s, &fourth, "current_holder", "code_sent"),
    )
    .await;
    // The holder's other sends, spent: only then may support grant new ones.
    let policy = titolare_domain::otp::CodePolicy::default();
    for _ in 1..policy.max_sends {
        s.advance(policy.resend_after.as_secs() + 1).await;
        let sent = s
            .call(
                "POST",
                "/v1/party/codes",
                As::Link(&ch),
                Some(json!({"channel": "sms"})),
            )
            .await;
        ok(&sent, 202, "a send");
    }
    let unblocked = || async {
        transfer_view(s, &fourth).await["audit"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "support_unblocked")
            .count()
    };
    once_per_key(
        client,
        Route {
            method: "POST",
            path: on("unblock"),
            caller: Caller::Account(&operator),
            body: Some(sms("Operatore telefonico lento")),
            other: Some(sms("Un altro motivo")),
        },
        unblocked,
    )
    .await;
    once_per_key(
        client,
        Route {
            method: "POST",
            path: on("cancel"),
            caller: Caller::Account(&operator),
            body: Some(json!({"reason": "Aperta per errore"})),
            other: Some(json!({"reason": "Un altro motivo"})),
        },
        || audit(s, &fourth, "initiator", "cancelled"),
    )
    .await;

    // Every POST and PUT of the route table was checked above.
    // The link check is a POST only to keep the token out of URLs, the management check to
    // take a body like the draft's: they write nothing.
    let writes: std::collections::BTreeSet<(&str, &str)> = titolare_api::routes::ROUTES
        .iter()
        .filter(|r| ["POST", "PUT"].contains(&r.method))
        .filter(|r| !["/v1/password-reset/check", "/v1/management/check"].contains(&r.path))
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(*COVERED.lock().unwrap(), writes);
    gw.shutdown().await;
}
