//! The provider's support over the local gateway (docs/rules.md, "Support"): only the
//! operators' group reaches its routes; an operator finds a request by each criterion, reads
//! it whole (the read on the request's trail), and acts with a reason — the account reads
//! every line, with the operator's id.

use serde_json::{Value, json};
use titolare_e2e::flow::*;
use titolare_e2e::{GatewaySurface, LocalGateway, Reply, local_gateway};

const OPERATOR: &str = "operatore";

async fn as_operator(gw: &LocalGateway, method: &str, path: &str, body: Option<Value>) -> Reply {
    let token = gw.client.login(OPERATOR).await;
    let body = body.map(|b| b.to_string());
    gw.client
        .send(method, path, Some(&token), body.as_deref())
        .await
}

/// The lines of the request's trail that support wrote, as the account reads them.
async fn support_lines(s: &dyn Surface, id: &str) -> Vec<Value> {
    transfer_view(s, id).await["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["support"].is_object())
        .cloned()
        .collect()
}

#[tokio::test]
async fn only_operators_reach_the_support_routes() {
    let gw = local_gateway().await;
    let demo = gw.client.login("demo").await;
    let routes: Vec<_> = titolare_api::routes::ROUTES
        .iter()
        .filter(|r| r.auth == titolare_api::routes::Auth::Operator)
        .collect();
    assert_eq!(routes.len(), 6);
    for route in routes {
        let path = route.path.replace("{id}", "1");
        let body = (route.method == "POST").then_some(r#"{"reason": "prova"}"#);
        let refused = gw.client.send(route.method, &path, Some(&demo), body).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert_eq!(
            refused.body["detail"],
            "Questa sezione è riservata all'assistenza del gestore: chiedi a un amministratore di inserirti nel gruppo degli operatori."
        );
        let anonymous = gw.client.send(route.method, &path, None, body).await;
        assert_eq!(anonymous.status, 401, "{path}");
    }
}

#[tokio::test]
async fn an_operator_finds_reads_and_resends_and_the_account_sees_both() {
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        draft_body(
            &[
                ("mailbox", "teste1234@pec.it"),
                ("domain", "testazienda-pec.it"),
            ],
            TESTDUE.holder,
        ),
    )
    .await;
    // Every criterion finds it.
    let azienda = transfer_view(&s, &id).await["current_holder"].clone();
    for query in [
        format!("numero={id}"),
        "casella=TESTE1234@pec.it".into(),
        "dominio=testazienda-pec.it".into(),
        format!("partita_iva={}", azienda["partita_iva"].as_str().unwrap()),
        format!(
            "codice_fiscale={}",
            transfer_view(&s, &id).await["new_holder"]["codice_fiscale"]
                .as_str()
                .unwrap()
        ),
        "account=demo".into(),
    ] {
        let found = as_operator(&gw, "GET", &format!("/v1/support/transfers?{query}"), None).await;
        ok(&found, 200, &query);
        assert!(
            found.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == id.as_str() && t["account"] == "demo"),
            "{query}: {}",
            found.body
        );
    }
    let two = as_operator(
        &gw,
        "GET",
        "/v1/support/transfers?numero=1&account=demo",
        None,
    )
    .await;
    assert_eq!(two.status, 400, "one criterion at a time");

    // The read: the request whole, and a line on its trail.
    let read = as_operator(
        &gw,
        "GET",
        &format!("/v1/support/transfers/{id}?motivo=Il%20cliente%20chiede%20dell%27invito"),
        None,
    )
    .await;
    ok(&read, 200, "read");
    assert_eq!(read.body["account"], "demo");
    assert!(
        read.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "invitation" && m["party"] == "current_holder"),
        "{}",
        read.body
    );
    assert!(
        !read.body.to_string().contains(AZIENDA.email),
        "no address in clear"
    );

    // An invitation again, with a reason (after the wait everyone has); none without one.
    s.advance(61).await;
    let path = format!("/v1/support/transfers/{id}/invitations");
    let no_reason = as_operator(
        &gw,
        "POST",
        &path,
        Some(json!({"party": "current_holder", "reason": " "})),
    )
    .await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.body);
    let sent = as_operator(
        &gw,
        "POST",
        &path,
        Some(json!({"party": "current_holder", "reason": "Non trova l'email"})),
    )
    .await;
    ok(&sent, 202, "invitation again");

    let lines = support_lines(&s, &id).await;
    let actions: Vec<&Value> = lines.iter().map(|l| &l["action"]).collect();
    assert_eq!(
        actions,
        [&json!("support_read"), &json!("invitation_sent")],
        "{lines:?}"
    );
    assert_eq!(lines[0]["support"]["operator"], OPERATOR);
    assert_eq!(
        lines[0]["support"]["reason"],
        "Il cliente chiede dell'invito"
    );
    assert_eq!(lines[1]["support"]["reason"], "Non trova l'email");
    let subject = format!("Cambio titolare di servizi PEC (richiesta {id})");
    assert_eq!(emails_with(&s, AZIENDA.email, &subject, 2).await.len(), 2);
}

#[tokio::test]
async fn an_operator_resends_a_code_unblocks_once_and_cancels() {
    let codes = titolare_domain::otp::CodePolicy::default();
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    ok(
        &decide(&s, &link, &[("teste1234@pec.it", true)]).await,
        200,
        "decisions",
    );
    let code =
        |reason: &str| json!({"party": "current_holder", "channel": "sms", "reason": reason});
    let codes_path = format!("/v1/support/transfers/{id}/codes");
    let unblock_path = format!("/v1/support/transfers/{id}/unblock");
    let early = as_operator(&gw, "POST", &unblock_path, Some(code("Nessun SMS"))).await;
    assert_eq!(early.status, 422, "nothing to unblock yet: {}", early.body);
    // Every send the holder has, spent by support (the same limits as everyone).
    for n in 0..codes.max_sends {
        let sent = as_operator(&gw, "POST", &codes_path, Some(code("SMS non arrivato"))).await;
        ok(&sent, 202, &format!("send {n}"));
        s.advance(codes.resend_after.as_secs() + 1).await;
    }
    let spent = as_operator(&gw, "POST", &codes_path, Some(code("SMS non arrivato"))).await;
    assert_eq!(spent.status, 429, "{}", spent.body);
    let unblocked = as_operator(
        &gw,
        "POST",
        &unblock_path,
        Some(code("Operatore telefonico lento")),
    )
    .await;
    ok(&unblocked, 200, "unblock");
    ok(
        &as_operator(&gw, "POST", &codes_path, Some(code("Dopo lo sblocco"))).await,
        202,
        "a send after the unblock",
    );
    let again = as_operator(&gw, "POST", &unblock_path, Some(code("Ancora"))).await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains("già stati concessi una volta")
    );

    let cancelled = as_operator(
        &gw,
        "POST",
        &format!("/v1/support/transfers/{id}/cancel"),
        Some(json!({"reason": "Richiesta aperta per errore, confermato al telefono"})),
    )
    .await;
    ok(&cancelled, 200, "cancel");
    assert_eq!(cancelled.body["status"], "cancelled");
    let told = emails_with(
        &s,
        AZIENDA.email,
        &format!("Cambio titolare annullato (richiesta {id})"),
        1,
    )
    .await;
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .contains("L'assistenza del gestore ha interrotto il cambio titolare"),
        "{told:?}"
    );
    let lines = support_lines(&s, &id).await;
    for action in ["code_sent", "support_unblocked", "cancelled"] {
        assert!(
            lines.iter().any(|l| l["action"] == action),
            "{action}: {lines:?}"
        );
    }
}
