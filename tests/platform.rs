//! The mail platform's side of a change over the local gateway (docs/platform.md): the
//! commands a completion and a new password issue, delivered in order per mailbox, and
//! their acknowledgements recorded, the password erased once the platform has it.

use serde_json::{Value, json};
use titolare_domain::ports::MailboxReader;
use titolare_e2e::flow::{self, *};
use titolare_e2e::{
    GatewaySurface, LocalGateway, local_gateway, local_gateway_with_external_platform,
};

fn surface(gw: &LocalGateway) -> GatewaySurface {
    GatewaySurface::new(gw.client.clone())
}

async fn platform(gw: &LocalGateway) -> Vec<Value> {
    let reply = gw.client.send("GET", "/dev/platform", None, None).await;
    assert_eq!(reply.status, 200);
    reply.body.as_array().unwrap().clone()
}

/// The commands of each target, in the order they were issued.
fn by_target(commands: &[Value]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for c in commands {
        let target = c["command"]["target"].as_str().unwrap().to_owned();
        let kind = c["command"]["type"].as_str().unwrap().to_owned();
        match out.iter_mut().find(|(t, _)| *t == target) {
            Some((_, kinds)) => kinds.push(kind),
            None => out.push((target, vec![kind])),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_applies_a_completed_change_and_the_password_is_erased() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = flow::full_success(&s).await;
    // The local platform acknowledges on its own: every moved item reads applied.
    let mut statuses = Vec::new();
    for _ in 0..200 {
        statuses = item_platforms(&s, &id).await;
        if statuses
            .iter()
            .all(|(_, p)| p.is_null() || p["status"] == "applied")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let words: Vec<(&str, Option<&str>)> = statuses
        .iter()
        .map(|(item, p)| (item.as_str(), p["status"].as_str()))
        .collect();
    assert_eq!(
        words,
        [
            ("teste1234@pec.it", Some("applied")),
            ("fatture.testazienda@pec.it", None),
            ("testazienda-pec.it", Some("applied")),
        ]
    );
    // The ending's domain event, once.
    let events = gw.client.send("GET", "/dev/events", None, None).await.body;
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "Transfer Completed");
    assert_eq!(events[0]["detail"]["id"], format!("{id}.completed"));
    let outcomes: Vec<&str> = events[0]["detail"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["moved", "kept", "moved"]);
    let commands = platform(&gw).await;
    assert_eq!(
        by_target(&commands),
        [
            (
                "teste1234@pec.it".to_owned(),
                vec![
                    "holder.changed".to_owned(),
                    "access-history.reset".into(),
                    "delegated-access.suspended".into(),
                    "second-factor.unlinked".into(),
                    "password.set".into(),
                ]
            ),
            (
                "testazienda-pec.it".to_owned(),
                vec!["holder.changed".to_owned()]
            ),
        ]
    );
    for c in &commands {
        assert_eq!(c["ack"]["result"], "applied", "{c}");
        assert!(
            c["command"]["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{id}."))
        );
        assert!(
            !c["command"]["id"].as_str().unwrap().contains('@'),
            "ids name no address"
        );
    }
    let changed = &commands[0]["command"];
    assert_eq!(changed["previous_holder"], AZIENDA.holder);
    assert_eq!(changed["new_holder"], TESTDUE.holder);
    assert_eq!(changed["account"], "demo");
    // The platform has the password: the service keeps no hash of it.
    let demo = titolare_domain::AccountId::parse("demo").unwrap();
    let address = titolare_domain::values::EmailAddress::parse("teste1234@pec.it").unwrap();
    let mailbox = gw
        .server()
        .store
        .mailbox(&demo, &address)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mailbox.password_hash, None);
    let transfer = titolare_domain::ports::TransferReader::transfer(
        &*gw.server().store,
        &titolare_domain::transfer::TransferId::parse(&id).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let stored = serde_json::to_string(&transfer.value).unwrap();
    assert!(
        !stored.contains("$argon2id$"),
        "no hash left in the transfer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_wait_for_the_adapter_in_order_and_each_ack_counts_once() {
    let gw = local_gateway_with_external_platform().await;
    let s = surface(&gw);
    let id = flow::full_success(&s).await;
    let waiting = item_platforms(&s, &id).await;
    assert_eq!(waiting[0].1["status"], "waiting", "{waiting:?}");
    assert_eq!(waiting[2].1["status"], "waiting");
    // One command per mailbox or domain at a time, the first issued first.
    let next = |gw: &LocalGateway| {
        let client = gw.client.clone();
        async move {
            let reply = client.send("GET", "/dev/platform/next", None, None).await;
            assert_eq!(reply.status, 200);
            reply.body.as_array().unwrap().clone()
        }
    };
    let first = next(&gw).await;
    let kinds: Vec<&str> = first.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["holder.changed", "holder.changed"]);
    // Leased: not offered again at once.
    assert!(next(&gw).await.is_empty());
    let ack = |command: &Value, result: &str| {
        json!({ "schema": 1, "command": command["id"], "result": result, "at": "2026-12-04T10:00:00Z" })
            .to_string()
    };
    let post = |body: String| {
        let client = gw.client.clone();
        async move {
            client
                .send("POST", "/dev/platform/acks", None, Some(&body))
                .await
        }
    };
    let recorded = post(ack(&first[0], "applied")).await;
    assert_eq!(
        (recorded.status, recorded.body["ack"].clone()),
        (200, json!("recorded"))
    );
    let again = post(ack(&first[0], "applied")).await;
    assert_eq!(
        (again.status, again.body["ack"].clone()),
        (200, json!("already")),
        "a repeated ack counts once"
    );
    for bad in [
        json!({ "schema": 1, "command": "nope", "result": "applied", "at": "2026-12-04T10:00:00Z" }).to_string(),
        json!({ "schema": 1, "command": format!("{id}.0.unknown"), "result": "applied", "at": "2026-12-04T10:00:00Z" }).to_string(),
        "{".into(),
    ] {
        assert_eq!(post(bad.clone()).await.status, 400, "{bad}");
    }
    // The mailbox's next command comes once the first is acknowledged.
    let second = next(&gw).await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0]["type"], "access-history.reset");
    // The domain's command refused after the platform's retries: reported, never lost.
    assert_eq!(post(ack(&first[1], "refused")).await.status, 200);
    let statuses = item_platforms(&s, &id).await;
    assert_eq!(statuses[2].1["status"], "refused");
    assert_eq!(statuses[0].1["status"], "waiting");
}
