//! The provider's inventory over the local gateway (`POST /dev/inventory`, the ingest path
//! of the queue's messages): a mailbox changed under a running request leaves it, the
//! parties are told, and a request with no item left ends (docs/rules.md, "The inventory").

use serde_json::{Value, json};
use titolare_e2e::flow::{self, *};
use titolare_e2e::{GatewaySurface, local_gateway};

fn upserted(address: &str, version: u64, holder: &str, status: &str) -> Value {
    json!({
        "schema": 1, "type": "mailbox.upserted", "version": version, "account": "demo",
        "mailbox": { "address": address, "holder_id": holder, "status": status, "kind": "Standard",
            "inbox_gb": 1, "end_of_service": "2027-06-30", "requested_on": "2011-06-30",
            "renewal": "A Scadenza", "duration": "1 Anno" }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_the_inventory_changes_leaves_its_request() {
    let gw = local_gateway().await;
    let s = GatewaySurface::new(gw.client.clone());
    let id = flow::open_transfer(
        &s,
        flow::draft_body(
            &[
                ("mailbox", "teste1234@pec.it"),
                ("mailbox", "fatture.testazienda@pec.it"),
                ("domain", "testazienda-pec.it"),
            ],
            TESTDUE.holder,
        ),
    )
    .await;
    let send = |body: Value| {
        let client = gw.client.clone();
        async move {
            client
                .send("POST", "/dev/inventory", None, Some(&body.to_string()))
                .await
        }
    };
    // An older version changes nothing; the provider gives the mailbox to another holder.
    let stale = send(upserted("teste1234@pec.it", 1, "19", "Attivo")).await;
    assert_eq!(
        (stale.status, stale.body["applied"].clone()),
        (200, json!(false))
    );
    let moved = send(upserted("teste1234@pec.it", 2, "19", "Attivo")).await;
    assert_eq!(
        (moved.status, moved.body["applied"].clone()),
        (200, json!(true))
    );
    let transfer = async |s: &GatewaySurface| {
        let mut reply = Value::Null;
        for _ in 0..100 {
            reply = s
                .call(
                    "GET",
                    &format!("/v1/transfers/{id}"),
                    As::Account("demo"),
                    None,
                )
                .await
                .body;
            if reply["items"][0]["outcome"] == "withdrawn" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        reply
    };
    let t = transfer(&s).await;
    assert_eq!(t["status"], "open");
    let outcomes: Vec<&Value> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("withdrawn"), &Value::Null, &Value::Null]);
    let last = t["audit"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "item_withdrawn");
    assert!(
        last["detail"].as_str().unwrap().contains("altro titolare"),
        "{last}"
    );
    for to in [INITIATOR.email, AZIENDA.email, TESTDUE.email] {
        let told = flow::emails_with(
            &s,
            to,
            &format!("Servizi esclusi dal cambio titolare (richiesta {id})"),
            1,
        )
        .await;
        assert_eq!(told.len(), 1, "{to}");
        assert!(
            told[0]["text"].as_str().unwrap().contains("prosegue"),
            "{told:?}"
        );
    }
    // The current holder's decisions need only the items left.
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    let decided = flow::decide(
        &s,
        &link,
        &[
            ("fatture.testazienda@pec.it", true),
            ("testazienda-pec.it", true),
        ],
    )
    .await;
    ok(&decided, 200, "decisions on the items left");

    // The others go too (one suspended, one removed): the request ends, nothing moved.
    assert!(
        send(upserted(
            "fatture.testazienda@pec.it",
            2,
            "534905",
            "Sospeso"
        ))
        .await
        .body["applied"]
            == true
    );
    let gone = json!({ "schema": 1, "type": "domain.removed", "version": 2, "account": "demo", "name": "testazienda-pec.it" });
    assert!(send(gone).await.body["applied"] == true);
    let mut t = Value::Null;
    for _ in 0..100 {
        t = s
            .call(
                "GET",
                &format!("/v1/transfers/{id}"),
                As::Account("demo"),
                None,
            )
            .await
            .body;
        if t["status"] != "open" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(t["status"], "cancelled", "{t}");
    assert!(
        t["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "withdrawn")
    );
    let ended = flow::emails_with(
        &s,
        INITIATOR.email,
        &format!("Servizi esclusi dal cambio titolare (richiesta {id})"),
        3,
    )
    .await;
    assert!(
        ended.iter().any(|m| m["text"]
            .as_str()
            .unwrap()
            .contains("non resta alcun servizio")),
        "{ended:?}"
    );
    let cancelled = flow::emails_with(
        &s,
        INITIATOR.email,
        &format!("Cambio titolare annullato (richiesta {id})"),
        0,
    )
    .await;
    assert!(
        cancelled.is_empty(),
        "no notice of a cancellation by the requester"
    );
    // Bad input is a 400 problem, never a write.
    let bad = gw
        .client
        .send("POST", "/dev/inventory", None, Some("{\"schema\":1}"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
