//! A full local run of the real `titolare-local` binary: its JSON logs (stdout) hold no
//! code, token, phone number, email address or codice fiscale. The developer's outbox
//! print (stderr) is the one place codes appear.

use std::sync::Arc;
use titolare_domain::otp::Party;
use titolare_domain::ports::Fixtures;
use titolare_domain::secret::SecretKey;
use titolare_domain::transfer::LinkToken;
use titolare_e2e::{HttpClient, start_local_binary};
use titolare_store::TableStore;
use titolare_store::clock::SystemClock;
use titolare_store_embedded::EmbeddedBackend;

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a six-digit code")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_personal_data_or_secrets() {
    let dir = std::env::temp_dir().join(format!("titolare-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_bytes = [42u8; 32];
    std::fs::write(dir.join("secret.key"), key_bytes).unwrap();
    let key = SecretKey::from_bytes(&key_bytes).unwrap();
    let account = titolare_domain::AccountId::parse("demo").unwrap();
    let deadline = jiff::Timestamp::now().as_second() + 86_400;
    let draft = titolare_store::conformance::sample_draft(601, &account, deadline);
    let open = titolare_store::conformance::sample_transfer(602, &account, deadline);
    {
        // Set the requests up before the gateway takes the database file.
        let store = TableStore::new(
            Arc::new(EmbeddedBackend::open(&dir.join("titolare.redb")).unwrap()),
            Arc::new(SystemClock),
        );
        store.put_transfer(&draft).await.unwrap();
        store.put_transfer(&open).await.unwrap();
    }
    let (stdout, stderr) = (dir.join("stdout.log"), dir.join("stderr.log"));
    let local = start_local_binary(&dir, |c| {
        c.env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
    })
    .await;
    let port = local.port;
    let client = HttpClient::new(format!("http://127.0.0.1:{port}"));
    let token = client.login("demo").await;
    let mut secrets: Vec<String> = vec![
        token.clone(),
        "DTSTTD90A01A851Q".into(),
        "teste1234@pec.it".into(),
    ];

    let holder = r#"{"tipo":"privato","nome":"Anna","cognome":"Verdi","codice_fiscale":"VRDNNA80A41H501H","indirizzo":"Via Po 1","cap":"00198","provincia":"RM","comune":"Roma","cellulare":"+39 333 7654321","email":"anna.verdi@example.it"}"#;
    secrets.extend(
        [
            "VRDNNA80A41H501H",
            "+393337654321",
            "3337654321",
            "anna.verdi@example.it",
        ]
        .map(String::from),
    );
    assert_eq!(
        client
            .send("POST", "/v1/holders", Some(&token), Some(holder))
            .await
            .status,
        201
    );
    assert_eq!(
        client
            .get("/v1/holders?codice_fiscale=DTSTTD90A01A851Q", &token)
            .await
            .status,
        200
    );
    assert_eq!(
        client
            .get("/v1/holders?mailbox=teste1234@pec.it", &token)
            .await
            .status,
        200
    );
    assert_eq!(
        client
            .get("/v1/mailboxes/teste1234@pec.it", &token)
            .await
            .status,
        200
    );
    assert_eq!(
        client
            .send(
                "PATCH",
                "/v1/holders/963300",
                Some(&token),
                Some(r#"{"email":"nuova@example.it","cellulare":"+39 347 1112223"}"#)
            )
            .await
            .status,
        200
    );
    secrets.extend(["nuova@example.it", "+393471112223"].map(String::from));

    assert_eq!(
        client
            .send(
                "POST",
                "/v1/transfers/601/codes",
                Some(&token),
                Some(r#"{"channel":"sms","phone":"+39 349 5556667"}"#)
            )
            .await
            .status,
        202
    );
    secrets.push("+393495556667".into());
    let mut codes = Vec::new();
    let mut outbox_len = 0;
    let mut newest_code = || {
        let client = client.clone();
        outbox_len += 1;
        let want = outbox_len;
        async move {
            for _ in 0..200 {
                let outbox = client.send("GET", "/dev/outbox", None, None).await.body;
                // Codes only: opening a request also emails the invitations.
                let codes: Vec<&serde_json::Value> = outbox
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| {
                        m["channel"] == "sms"
                            || m["subject"]
                                .as_str()
                                .is_some_and(|s| s.ends_with("codice di verifica"))
                    })
                    .collect();
                if codes.len() >= want {
                    return code_in(codes[0]["text"].as_str().unwrap());
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("no message in the outbox");
        }
    };
    let code = newest_code().await;
    assert_eq!(
        client
            .send(
                "POST",
                "/v1/transfers/601/codes/verify",
                Some(&token),
                Some(&format!(r#"{{"channel":"sms","code":"{code}"}}"#))
            )
            .await
            .status,
        200
    );
    codes.push(code);
    let link = LinkToken::issue(&key, &open.id, Party::NewHolder);
    secrets.push(link.clone());
    secrets.push(link.rsplit('.').next().unwrap().to_owned());
    for channel in ["sms", "email"] {
        assert_eq!(
            client
                .send(
                    "POST",
                    "/v1/party/codes",
                    Some(&link),
                    Some(&format!(r#"{{"channel":"{channel}"}}"#))
                )
                .await
                .status,
            202
        );
        let code = newest_code().await;
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        for (typed, status) in [(&wrong, 422), (&code, 200)] {
            let body = format!(r#"{{"channel":"{channel}","code":"{typed}"}}"#);
            assert_eq!(
                client
                    .send("POST", "/v1/party/codes/verify", Some(&link), Some(&body))
                    .await
                    .status,
                status
            );
        }
        codes.push(code);
        codes.push(wrong);
    }
    // A password-reset token, on both routes that take one (refused: the mailbox was not
    // moved by that request), and its tag.
    let reset = titolare_domain::transfer::PasswordResetToken::issue(
        &key,
        &account,
        &titolare_domain::values::EmailAddress::parse("teste1234@pec.it").unwrap(),
        jiff::Timestamp::now(),
        &open.id,
    );
    for (path, body) in [
        (
            "/v1/password-reset",
            format!(r#"{{"token":"{reset}","password":"Nuova-Password-7"}}"#),
        ),
        (
            "/v1/password-reset/link",
            format!(r#"{{"token":"{reset}"}}"#),
        ),
    ] {
        let status = client.send("POST", path, None, Some(&body)).await.status;
        assert_eq!(status, 409, "{path}");
    }
    secrets.push(reset.clone());
    secrets.push(reset.rsplit('.').next().unwrap().to_owned());
    secrets.extend([
        open.new_holder.mobile.as_str().to_owned(),
        open.new_holder.email.as_str().to_owned(),
        draft.initiator.mobile.as_str().to_owned(),
    ]);
    drop(local);

    let logs = std::fs::read_to_string(&stdout).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 15, "the run logged its requests:\n{logs}");
    for line in &lines {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        assert!(json["fields"]["message"].is_string());
        let known: Vec<String> = secrets.iter().chain(&codes).cloned().collect();
        if let Some(found) = titolare_e2e::personal_data_in(line, &known) {
            panic!("a log line holds a {found}: {line}");
        }
        assert!(
            !line.contains('@'),
            "an email address in a log line: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("\"request\""))
            .all(|l| l.contains("request_id")),
        "request id on every request line"
    );
    let dev_print = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        codes.iter().take(1).all(|c| dev_print.contains(c.as_str())),
        "the outbox print shows the codes, as a developer's outbox should"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The scanner every test that runs a binary uses finds each shape it is meant to find.
#[test]
fn the_log_scanner_finds_each_kind_of_personal_data() {
    use titolare_e2e::personal_data_in;
    let found = |line: &str| personal_data_in(line, &["481516".into()]);
    assert_eq!(
        found(r#"{"to":"mario.rossi@example.it"}"#).as_deref(),
        Some("email address mario.rossi@example.it")
    );
    assert!(
        found(r#"{"phone":"+393331234567"}"#)
            .unwrap()
            .starts_with("phone number")
    );
    assert!(
        found("cf DTSTTD90A01A851Q")
            .unwrap()
            .starts_with("codice fiscale")
    );
    assert!(
        found("cf dtsttd90a01a851q")
            .unwrap()
            .starts_with("codice fiscale")
    );
    assert!(
        found("link 42.nh.AbCdEfGhIjKlMnOpQrStUv")
            .unwrap()
            .starts_with("link token")
    );
    assert!(
        found("link 42.nh2.AbCdEfGhIjKlMnOpQrStUv")
            .unwrap()
            .starts_with("link token")
    );
    assert!(
        found("reset ZGVtbw.dGVzdGUxMjM0QHBlYy5pdA.1764000000.30.AbCdEfGhIjKlMnOpQrStUv")
            .unwrap()
            .starts_with("password-reset token")
    );
    assert!(
        found("auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.x")
            .unwrap()
            .starts_with("JWT")
    );
    assert!(
        found("code 481516 typed")
            .unwrap()
            .starts_with("known secret")
    );
    assert_eq!(
        found(
            r#"{"request_id":"local-6b0-1","route":"/v1/party/codes","status":202,"micros":3331234}"#
        ),
        None,
        "an ordinary request line is clean"
    );
}
