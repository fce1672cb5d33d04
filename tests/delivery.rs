//! Delivery as the providers report it (docs/rules.md, "Delivery"), over the local gateway:
//! `/dev/outbox/report` answers for the local outbox as SES and SNS answer through the
//! delivery functions (tests/lambda.rs runs those). "Consegnato" only once reported; a
//! bounced invitation is told to the initiator, stops the reminders to that address and is
//! mended by a correction.

use serde_json::{Value, json};
use titolare_e2e::flow::*;
use titolare_e2e::{GatewaySurface, LocalGateway, local_gateway};

fn surface(gw: &LocalGateway) -> GatewaySurface {
    GatewaySurface::new(gw.client.clone())
}

/// The id the local outbox took the newest message to `to` under, on `channel`.
async fn provider_id(gw: &LocalGateway, channel: &str, to: &str) -> String {
    for _ in 0..200 {
        let outbox = gw
            .client
            .send("GET", "/dev/outbox?settled", None, None)
            .await
            .body;
        if let Some(entry) = outbox
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["channel"] == channel && e["to"] == to)
        {
            return entry["id"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {channel} to {to} in the local outbox")
}

/// The provider's word on message `id`, as the gateway records it.
async fn report(gw: &LocalGateway, id: &str, outcome: &str) -> String {
    let reply = gw
        .client
        .send(
            "POST",
            "/dev/outbox/report",
            None,
            Some(&json!({"id": id, "outcome": outcome}).to_string()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["recorded"].as_str().unwrap().to_owned()
}

/// The holder's SMS code as the code step reads it.
async fn code_status(s: &GatewaySurface, link: &str) -> Value {
    let reply = s.call("GET", "/v1/party/codes", As::Link(link), None).await;
    ok(&reply, 200, "code status");
    reply.body["items"][0].clone()
}

#[tokio::test]
async fn a_bounced_invitation_is_told_stops_the_reminders_and_a_correction_mends_it() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let view = transfer_view(&s, &id).await;
    assert!(
        view["contacts"]["current_holder"]["invitation_delivery"].is_null(),
        "sent, nothing reported yet: {view}"
    );
    let bounced = provider_id(&gw, "email", AZIENDA.email).await;
    assert_eq!(report(&gw, &bounced, "bounced").await, "recorded");
    assert_eq!(
        report(&gw, &bounced, "bounced").await,
        "unchanged",
        "a repeat changes nothing"
    );
    assert_eq!(
        report(&gw, &bounced, "delivered").await,
        "unchanged",
        "a final word stays"
    );
    assert_eq!(report(&gw, "local-nessuno-1", "delivered").await, "unknown");
    let delivered = provider_id(&gw, "email", TESTDUE.email).await;
    assert_eq!(report(&gw, &delivered, "delayed").await, "recorded");
    assert_eq!(report(&gw, &delivered, "delivered").await, "recorded");

    let view = transfer_view(&s, &id).await;
    let lost = &view["contacts"]["current_holder"]["invitation_delivery"];
    assert_eq!(lost["outcome"], "failed", "{view}");
    assert_eq!(lost["lost"], true);
    assert_eq!(lost["reason"], "l'indirizzo non esiste o non riceve email");
    assert_eq!(
        view["contacts"]["new_holder"]["invitation_delivery"]["outcome"],
        "delivered"
    );
    let lines: Vec<&Value> = view["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "invitation_undelivered")
        .collect();
    assert_eq!(lines.len(), 1, "once on the trail: {view}");
    assert_eq!(
        lines[0]["detail"],
        "attuale titolare: l'indirizzo non esiste o non riceve email"
    );
    // The initiator is told, once, with what to do.
    let subject = format!("Invito non consegnato (richiesta {id})");
    let told = emails_with(&s, INITIATOR.email, &subject, 1).await;
    assert_eq!(told.len(), 1);
    let text = told[0]["text"].as_str().unwrap();
    assert!(
        text.contains("per l'attuale titolare non è stato consegnato: l'indirizzo non esiste")
            && text.contains("Correggi i contatti"),
        "{text}"
    );

    // 48 hours before the deadline: the new holder is reminded, the lost address is not.
    let reminder = format!("Promemoria: cambio titolare di servizi PEC (richiesta {id})");
    s.advance(72 * 3600 + 5).await;
    assert_eq!(emails_with(&s, TESTDUE.email, &reminder, 1).await.len(), 1);
    let view = transfer_view(&s, &id).await;
    assert_eq!(
        view["contacts"]["current_holder"]["invitations"], 1,
        "no reminder to a lost address: {view}"
    );

    // A correction sends a new invitation to the new address, whose delivery is unknown again.
    let corrected = s
        .call(
            "PATCH",
            &format!("/v1/transfers/{id}/contacts"),
            As::Account("demo"),
            Some(json!({"party": "current_holder", "email": "nuovo.indirizzo@example.it"})),
        )
        .await;
    ok(&corrected, 200, "correction");
    let view = transfer_view(&s, &id).await;
    assert!(
        view["contacts"]["current_holder"]["invitation_delivery"].is_null(),
        "{view}"
    );
    let fresh = provider_id(&gw, "email", "nuovo.indirizzo@example.it").await;
    assert_eq!(report(&gw, &fresh, "delivered").await, "recorded");
    // A late report about the old address changes nothing now.
    let view = transfer_view(&s, &id).await;
    assert_eq!(
        view["contacts"]["current_holder"]["invitation_delivery"]["outcome"],
        "delivered"
    );
}

#[tokio::test]
async fn a_code_is_consegnato_only_once_reported_and_a_lost_one_says_why() {
    let gw = local_gateway().await;
    let s = surface(&gw);
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
    let sent = s
        .call(
            "POST",
            "/v1/party/codes",
            As::Link(&link),
            Some(json!({"channel": "sms"})),
        )
        .await;
    ok(&sent, 202, "code sent");
    let first = provider_id(&gw, "sms", AZIENDA.mobile).await;
    assert_eq!(
        code_status(&s, &link).await["delivery"],
        "sent",
        "taken, not yet delivered"
    );
    assert_eq!(report(&gw, &first, "delivered").await, "recorded");
    let item = code_status(&s, &link).await;
    assert_eq!(item["delivery"], "delivered", "{item}");
    assert!(item["notice"].is_null());

    // The next code is lost by the carrier: said with its reason, and a new one may go at once.
    s.advance(61).await;
    ok(
        &s.call(
            "POST",
            "/v1/party/codes",
            As::Link(&link),
            Some(json!({"channel": "sms"})),
        )
        .await,
        202,
        "second code",
    );
    let mut second = first.clone();
    for _ in 0..100 {
        second = provider_id(&gw, "sms", AZIENDA.mobile).await;
        if second != first {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_ne!(second, first, "the second code's own message");
    assert_eq!(
        report(&gw, &first, "failed").await,
        "unchanged",
        "the first code's message was delivered: a final word"
    );
    assert_eq!(report(&gw, &second, "failed").await, "recorded");
    let item = code_status(&s, &link).await;
    assert_eq!(item["delivery"], "failed", "{item}");
    assert_eq!(
        item["notice"],
        "Non consegnato: il telefono non era raggiungibile. Chiedi un nuovo invio."
    );
    assert_eq!(item["resend_in_seconds"], 0, "no wait after a lost code");
}
