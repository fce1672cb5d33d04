//! The local gateway over real HTTP: the curl checks of docs/api.md, account isolation,
//! restarts, and bad input at the socket.

use titolare_e2e::{HttpClient, local_gateway};

fn ids(body: &serde_json::Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_seeded_holders_are_found_as_the_docs_say() {
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let by_cognome = gw.client.get("/v1/holders?cognome=test", &token).await;
    assert_eq!(by_cognome.status, 200);
    assert_eq!(ids(&by_cognome.body), ["19", "900008"]);
    assert_eq!(by_cognome.body["total"], 2);
    let by_nome = gw.client.get("/v1/holders?nome=test", &token).await;
    assert_eq!(ids(&by_nome.body), ["19", "963300"]);
    let seed = gw.client.get("/v1/holders/963300", &token).await;
    assert_eq!(seed.body["codice_fiscale"], "DTSTTD90A01A851Q");
    assert_eq!(
        gw.client.get("/v1/holders/534905", &token).await.body["tipo"],
        "azienda"
    );
    let mailbox = gw
        .client
        .get("/v1/mailboxes/teste1234@pec.it", &token)
        .await;
    assert_eq!(mailbox.status, 200);
    assert_eq!(mailbox.body["status"], "Certificato");
    assert_eq!(mailbox.body["kind"], "Standard");
    assert_eq!(mailbox.body["holder_id"], "534905");
    assert!(mailbox.body.get("password_hash").is_none());
    let others = gw
        .client
        .get("/v1/mailboxes?held_by_others=true", &token)
        .await;
    let addresses: Vec<_> = others.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "fatture.testazienda@pec.it",
            "marco.test@pec.it",
            "sospesa@pec.it",
            "teste1234@pec.it"
        ],
        "demo@pec.it is the account's own"
    );
    assert_eq!(
        gw.client
            .get("/v1/holders?mailbox=teste1234@pec.it", &token)
            .await
            .body["items"][0]["id"],
        "534905"
    );
    assert_eq!(
        gw.client.get("/v1/domains", &token).await.body["items"][0]["name"],
        "testazienda-pec.it"
    );
}

#[tokio::test]
async fn a_second_account_sees_none_of_the_first_ones_data() {
    let gw = local_gateway().await;
    let other = gw.client.login("demo2").await;
    for path in [
        "/v1/holders/19",
        "/v1/mailboxes/teste1234@pec.it",
        "/v1/domains/testazienda-pec.it",
    ] {
        let reply = gw.client.get(path, &other).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.content_type, "application/problem+json");
    }
    assert_eq!(
        gw.client.get("/v1/holders?cognome=test", &other).await.body["total"],
        0
    );
    assert_eq!(
        ids(&gw.client.get("/v1/holders?tipo=privato", &other).await.body),
        ["700001"]
    );
    let stranger = gw.client.login("nessuno").await;
    assert_eq!(
        gw.client.get("/v1/mailboxes", &stranger).await.body["items"],
        serde_json::json!([])
    );
    let forged = gw.client.get("/v1/holders/19", "abc.def").await;
    assert_eq!(forged.status, 401);
}

#[tokio::test]
async fn data_survives_a_restart_and_the_seed_runs_once() {
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let created = gw
        .client
        .send("POST", "/v1/holders", Some(&token), Some(r#"{"tipo":"privato","nome":"Anna","cognome":"Verdi","codice_fiscale":"VRDNNA80A41H501H","indirizzo":"Via Po 1","cap":"00198","provincia":"RM","comune":"Roma","cellulare":"3331234567","email":"anna@example.it"}"#))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let patched = gw
        .client
        .send(
            "PATCH",
            "/v1/holders/963300",
            Some(&token),
            Some(r#"{"indirizzo":"Via Cambiata 7"}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let data_dir = gw.shutdown().await;
    let server = titolare_local::serve(titolare_local::Config::new(0, data_dir))
        .await
        .unwrap();
    let client = HttpClient::new(format!("http://{}", server.address));
    assert_eq!(
        client
            .get(
                &format!("/v1/holders/{}", created.body["id"].as_str().unwrap()),
                &token
            )
            .await
            .status,
        200,
        "the old token and the data survive"
    );
    assert_eq!(
        client.get("/v1/holders/963300", &token).await.body["indirizzo"],
        "Via Cambiata 7",
        "the seed does not overwrite"
    );
    assert_eq!(
        client.get("/v1/holders?tipo=privato", &token).await.body["total"],
        4
    );
    let ops = client.get("/v1/operations", &token).await;
    assert_eq!(ops.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_input_at_the_socket_is_a_4xx() {
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let big = format!(r#"{{"nome":"{}"}}"#, "x".repeat(65 * 1024));
    let reply = gw
        .client
        .send("POST", "/v1/holders", Some(&token), Some(&big))
        .await;
    assert_eq!(reply.status, 413);
    let reply = gw
        .client
        .send(
            "PATCH",
            "/v1/holders/19",
            Some(&token),
            Some(r#"{"codice_fiscale":"RSSMRA80A01H501U"}"#),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.body["errors"]["codice_fiscale"],
        "Campo non modificabile per un titolare di tipo privato."
    );
    let reply = gw
        .client
        .send("POST", "/dev/login", None, Some(r#"{"username":"../etc"}"#))
        .await;
    assert_eq!(reply.status, 400);
    let reply = gw
        .client
        .send("GET", "/v1/holders?cognome=%FF", Some(&token), None)
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        gw.client.get("/v1/operations", &token).await.body["items"],
        serde_json::json!([]),
        "nothing written"
    );
}

/// The newest code in the local outbox, once the in-process dispatcher has sent it.
async fn outbox_code(client: &HttpClient, count: usize) -> (String, serde_json::Value) {
    for _ in 0..100 {
        let outbox = client.send("GET", "/dev/outbox", None, None).await.body;
        if outbox.as_array().is_some_and(|a| a.len() >= count) {
            let newest = outbox[0].clone();
            let text = newest["text"].as_str().unwrap();
            let code: String = text
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .expect("a six-digit code")
                .to_owned();
            return (code, newest);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nothing reached the local outbox");
}

#[tokio::test]
async fn codes_go_through_the_local_outbox() {
    use titolare_domain::ports::Fixtures;
    use titolare_domain::transfer::LinkToken;
    let gw = local_gateway().await;
    let token = gw.client.login("demo").await;
    let account = titolare_domain::AccountId::parse("demo").unwrap();
    let deadline = jiff::Timestamp::now().as_second() + 86_400;
    let draft = titolare_store::conformance::sample_draft(501, &account, deadline);
    let open = titolare_store::conformance::sample_transfer(502, &account, deadline);
    gw.server().store.put_transfer(&draft).await.unwrap();
    gw.server().store.put_transfer(&open).await.unwrap();

    let sent = gw
        .client
        .send(
            "POST",
            "/v1/transfers/501/codes",
            Some(&token),
            Some(r#"{"channel":"sms"}"#),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let (code, message) = outbox_code(&gw.client, 1).await;
    assert_eq!(message["channel"], "sms");
    assert_eq!(message["to"], draft.initiator.mobile.as_str());
    let verified = gw
        .client
        .send(
            "POST",
            "/v1/transfers/501/codes/verify",
            Some(&token),
            Some(&format!(r#"{{"channel":"sms","code":"{code}"}}"#)),
        )
        .await;
    assert_eq!(
        (verified.status, verified.body["code"].as_str()),
        (200, Some("approved"))
    );

    let link = LinkToken::issue(
        &gw.server().key,
        &open.id,
        titolare_domain::otp::Party::NewHolder,
    );
    let sent = gw
        .client
        .send(
            "POST",
            "/v1/party/codes",
            Some(&link),
            Some(r#"{"channel":"sms"}"#),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    // The initiator's verification opened draft 501: both its holders were invited too.
    let (code, message) = outbox_code(&gw.client, 4).await;
    assert_eq!(
        (message["channel"].as_str(), message["to"].as_str()),
        (Some("sms"), Some(open.new_holder.mobile.as_str()))
    );
    let verified = gw
        .client
        .send(
            "POST",
            "/v1/party/codes/verify",
            Some(&link),
            Some(&format!(r#"{{"channel":"sms","code":"{code}"}}"#)),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let page = gw.client.send("GET", "/dev/outbox.html", None, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html")
            && page
                .body
                .as_str()
                .unwrap()
                .contains(draft.new_holder.email.as_str())
    );
}

#[tokio::test]
async fn the_account_route_names_who_is_logged_in() {
    let gw = local_gateway().await;
    let demo = gw.client.login("demo").await;
    let account = gw.client.get("/v1/account", &demo).await;
    assert_eq!(account.status, 200);
    assert_eq!(account.body["username"], "demo");
    assert_eq!(account.body["role"], "rivenditore");
    assert_eq!(account.body["role_label"], "Rivenditore");
    assert_eq!(account.body["profile"]["holder_id"], "19");
    assert_eq!(account.body["profile"]["name"], "test test");
    assert_eq!(account.body["profile"]["cellulare"], "+393330000019");
    let demo2 = gw.client.login("demo2").await;
    assert_eq!(
        gw.client.get("/v1/account", &demo2).await.body["profile"]["holder_id"],
        "700001",
        "each account its own profile"
    );
    let stranger = gw.client.login("nuovo.utente").await;
    let empty = gw.client.get("/v1/account", &stranger).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["role"], "cliente");
    assert!(empty.body["profile"].is_null());
    assert_eq!(
        gw.client.get("/v1/account", "not-a-token").await.status,
        401
    );
    assert_eq!(
        gw.client.get("/v1/account?x=1", &demo).await.status,
        400,
        "unknown query parameters are refused"
    );
}
