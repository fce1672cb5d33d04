//! What people meet over the local gateway: one profile per person, steps that fit who
//! they are, refusals that say what to do instead, and lists they can narrow.

use serde_json::{Value, json};
use titolare_e2e::flow::*;
use titolare_e2e::{GatewaySurface, LocalGateway, local_gateway};

fn surface(gw: &LocalGateway) -> GatewaySurface {
    GatewaySurface::new(gw.client.clone())
}

fn person(tipo: &str, cf: &str) -> Value {
    json!({
        "tipo": tipo, "nome": "testdue", "cognome": "duetest", "codice_fiscale": cf,
        "indirizzo": "Via del Casentino 5", "cap": "52011", "provincia": "AR", "comune": "Bibbiena",
        "cellulare": "+39 333 0963300", "email": "testdue@example.it",
    })
}

async fn create(s: &dyn Surface, body: Value) -> (u16, Value) {
    let reply = s
        .call("POST", "/v1/holders", As::Account("demo"), Some(body))
        .await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn one_profile_per_person_and_role_unless_meant() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    // testdue duetest (963300) again, written differently: a 409 naming the profile.
    let (status, body) = create(&s, person("PRIVATO", "dtsttd90a01a851q")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["type"], "urn:titolare:problem:duplicate-holder");
    assert_eq!(body["existing_holder_id"], "963300");
    assert!(
        body["errors"]["codice_fiscale"]
            .as_str()
            .unwrap()
            .contains("963300")
    );
    // Meant: a second profile.
    let mut again = person("privato", "DTSTTD90A01A851Q");
    again["allow_duplicate"] = json!(true);
    let (status, body) = create(&s, again).await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body.get("allow_duplicate").is_none(),
        "the flag is not stored"
    );
    // The same person as a libero professionista is another role.
    let mut professional = person("libero professionista", "DTSTTD90A01A851Q");
    professional["partita_iva"] = json!("00000010017");
    let (status, body) = create(&s, professional).await;
    assert_eq!(status, 201, "{body}");
    // An azienda by its partita IVA (534905 has 12345670587), also inside a draft.
    let azienda = json!({
        "tipo": "azienda", "ragione_sociale": "Altra S.r.l.", "partita_iva": "12345670587",
        "codice_fiscale_azienda": "12345670587", "indirizzo": "Via Po 1", "cap": "00198",
        "provincia": "RM", "comune": "Roma", "cellulare": "+39 347 0534905", "email": "a@b.it",
    });
    let (status, body) = create(&s, azienda.clone()).await;
    assert_eq!(
        (status, body["existing_holder_id"].as_str()),
        (409, Some("534905")),
        "{body}"
    );
    let draft = s
        .call(
            "POST",
            "/v1/transfers",
            As::Account("demo"),
            Some(json!({
                "items": [{"kind": "mailbox", "id": "teste1234@pec.it"}],
                "management": {"mode": "keep"},
                "new_holder": azienda,
            })),
        )
        .await;
    assert_eq!(draft.status, 409, "{}", draft.body);
    assert!(draft.body["errors"]["new_holder.partita_iva"].is_string());
    gw.shutdown().await;
}

/// Names and emails are printed into the provider's emails: a link, a bidi override or a
/// zero-width character in a name, and a domain mixing scripts, are refused field by field;
/// a decomposed accent is kept composed and an IDN domain in its ASCII form.
#[tokio::test]
async fn texts_for_the_providers_emails_are_refused_or_normalised() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let azienda = |ragione_sociale: &str| {
        json!({
            "tipo": "azienda", "ragione_sociale": ragione_sociale, "partita_iva": "00000010017",
            "codice_fiscale_azienda": "00000010017", "indirizzo": "Via Po 1", "cap": "00198",
            "provincia": "RM", "comune": "Roma", "cellulare": "+39 347 0534905", "email": "a@b.it",
        })
    };
    let refused = [
        (
            azienda("Acme: conferma entro oggi su https://esempio.com/x"),
            "ragione_sociale",
            "Il testo non può contenere indirizzi web.",
        ),
        (
            azienda("Acme www.esempio.com"),
            "ragione_sociale",
            "Il testo non può contenere indirizzi web.",
        ),
        (
            azienda("Acme\u{202E}lrs.ti"),
            "ragione_sociale",
            "Il testo contiene caratteri invisibili o che cambiano la direzione della scrittura.",
        ),
        (
            {
                let mut p = person("privato", "DTSTTD90A01A851Q");
                p["nome"] = json!("test\u{200B}due");
                p
            },
            "nome",
            "Il testo contiene caratteri invisibili o che cambiano la direzione della scrittura.",
        ),
        (
            {
                let mut p = person("privato", "DTSTTD90A01A851Q");
                p["email"] = json!("testdue@p\u{430}ypal.it");
                p
            },
            "email",
            "Il dominio mescola alfabeti diversi (per esempio latino e cirillico): controlla l'indirizzo.",
        ),
    ];
    for (body, field, message) in refused {
        let (status, answer) = create(&s, body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][field], message, "{answer}");
    }
    let mut composed = person("privato", "DTSTTD90A01A851Q");
    composed["cognome"] = json!("due\u{301}test");
    composed["email"] = json!("testdue@Caffè.it");
    composed["allow_duplicate"] = json!(true);
    let (status, body) = create(&s, composed).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["cognome"], "duétest");
    assert_eq!(body["email"], "testdue@xn--caff-8oa.it");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_libero_professionista_confirms_no_holder_data_and_refusals_say_what_to_do() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let mut professional = person("libero_professionista", "DTSTTD90A01A851Q");
    professional["partita_iva"] = json!("00000010017");
    let body = json!({
        "items": [{"kind": "mailbox", "id": "teste1234@pec.it"}],
        "management": {"mode": "keep"},
        "new_holder": professional,
    });
    let id = open_transfer(&s, body).await;
    let request = s
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    let left: Vec<String> =
        serde_json::from_value(request.body["progress"]["new_holder"]["left"].clone()).unwrap();
    assert_eq!(
        left,
        ["decisions", "contract", "sms", "email"],
        "a natural person"
    );

    // The current holder tries the new holder's contract: told what is theirs to do.
    let link = s.link(&id, "current_holder", AZIENDA.email).await;
    let refused = s
        .call(
            "POST",
            "/v1/party/contract",
            As::Link(&link),
            Some(json!({"accepted": []})),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("spetta al nuovo titolare"), "{detail}");
    assert!(
        detail.contains("Il tuo prossimo passaggio è l'accettazione o il rifiuto degli elementi"),
        "{detail}"
    );

    // Rejecting everything ends the request: nobody has steps left.
    ok(
        &decide(&s, &link, &[("teste1234@pec.it", false)]).await,
        200,
        "reject",
    );
    let request = s
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(request.body["status"], "rejected");
    for party in ["initiator", "current_holder", "new_holder"] {
        assert_eq!(
            request.body["progress"][party]["left"],
            json!([]),
            "{party}"
        );
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn a_lapsed_draft_says_it_was_never_confirmed() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let created = s
        .call(
            "POST",
            "/v1/transfers",
            As::Account("demo"),
            Some(draft_body(
                &[("mailbox", "teste1234@pec.it")],
                TESTDUE.holder,
            )),
        )
        .await;
    ok(&created, 201, "draft");
    let id = created.body["id"].as_str().unwrap();
    s.advance(86_400).await;
    let late = s
        .call(
            "POST",
            &format!("/v1/transfers/{id}/codes"),
            As::Account("demo"),
            Some(json!({"channel": "sms"})),
        )
        .await;
    assert_eq!(late.status, 410, "{}", late.body);
    let detail = late.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("entro 24 ore") && !detail.contains("5 giorni"),
        "{detail}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn lists_narrow_by_address_name_and_holder_and_show_the_holder_name() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let get = |path: &'static str| {
        let s = &s;
        async move {
            let reply = s.call("GET", path, As::Account("demo"), None).await;
            ok(&reply, 200, path);
            reply.body
        }
    };
    let names = |body: &Value, key: &str| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i[key].as_str().unwrap().to_owned())
            .collect()
    };
    let by_prefix = get("/v1/mailboxes?address=FATT").await;
    assert_eq!(names(&by_prefix, "address"), ["fatture.testazienda@pec.it"]);
    assert_eq!(by_prefix["items"][0]["holder_name"], "Test Azienda S.r.l.");
    let by_holder = get("/v1/mailboxes?holder_id=534905").await;
    assert_eq!(
        names(&by_holder, "address"),
        ["fatture.testazienda@pec.it", "teste1234@pec.it"]
    );
    let own = get("/v1/mailboxes?holder_id=19").await;
    assert_eq!(names(&own, "address"), ["demo@pec.it"]);
    assert_eq!(own["items"][0]["holder_name"], "test test");
    let others = get("/v1/domains?held_by_others=true&name=TEST").await;
    assert_eq!(names(&others, "name"), ["testazienda-pec.it"]);
    assert_eq!(others["items"][0]["holder_name"], "Test Azienda S.r.l.");
    let none = get("/v1/domains?holder_id=963300").await;
    assert_eq!(none["items"], json!([]));
    // A ragione sociale by a later word, tipo in any case.
    let found = get("/v1/holders?ragione_sociale=azienda&tipo=Azienda").await;
    assert_eq!(names(&found, "id"), ["534905"]);
    assert_eq!(found["total"], 1);
    let bad = s
        .call(
            "GET",
            "/v1/mailboxes?holder_id=abc",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body["errors"]["holder_id"].is_string());
    gw.shutdown().await;
}

/// The emails to `to` whose text holds `needle`, once there are `count` of them (or after
/// five seconds, however many there are).
async fn emails_with_text(s: &dyn Surface, to: &str, needle: &str, count: usize) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..100 {
        found = s
            .emails_to(to)
            .await
            .into_iter()
            .filter(|m| m["text"].as_str().is_some_and(|t| t.contains(needle)))
            .collect();
        if found.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found
}

/// The token after `marker` in an email's text.
fn token_in(email: &Value, marker: &str) -> String {
    let text = email["text"].as_str().unwrap();
    let start = text.find(marker).unwrap() + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect()
}

/// The `count` reset links emailed to `to`, oldest first (by the issue time each carries).
async fn reset_links(s: &dyn Surface, to: &str, count: usize) -> Vec<String> {
    let mut links: Vec<String> = emails_with_text(s, to, "password#token=", count)
        .await
        .iter()
        .map(|m| token_in(m, "password#token="))
        .collect();
    links.sort_by_key(|t| t.split('.').nth(2).and_then(|n| n.parse::<i64>().ok()));
    links
}

#[tokio::test]
async fn a_lapsed_password_link_is_not_a_dead_end() {
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
        "current holder",
    );
    let done = new_holder_part(&s, &id, &TESTDUE, &[("teste1234@pec.it", true)]).await;
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    let first = s
        .reset_token("demo", "teste1234@pec.it", TESTDUE.email)
        .await;
    let again = |token: &str| {
        let body = json!({ "token": token });
        let s = &s;
        async move {
            s.call("POST", "/v1/password-reset/link", As::Nobody, Some(body))
                .await
        }
    };
    // What a link can still do, as its page reads it first.
    let state = |token: &str| {
        let body = json!({ "token": token });
        let s = &s;
        async move {
            let reply = s
                .call("POST", "/v1/password-reset/check", As::Nobody, Some(body))
                .await;
            ok(&reply, 200, "the link's state");
            assert_eq!(reply.body["mailbox"], "teste1234@pec.it", "named at once");
            (
                reply.body["state"].as_str().unwrap().to_owned(),
                reply.body["detail"].as_str().map(str::to_owned),
            )
        }
    };
    assert_eq!(state(&first).await, ("valid".into(), None));
    let set = |token: &str| {
        let body = json!({ "token": token, "password": "Nuova-Password-7" });
        let s = &s;
        async move {
            s.call("POST", "/v1/password-reset", As::Nobody, Some(body))
                .await
        }
    };
    // One link a minute.
    let soon = again(&first).await;
    assert_eq!(soon.status, 429, "{}", soon.body);
    assert!(soon.header("retry-after").is_some());
    // A day later the link has lapsed; its page asks for a new one.
    s.advance(86_400).await;
    let (lapsed_state, words) = state(&first).await;
    assert_eq!(lapsed_state, "lapsed");
    assert!(words.unwrap().contains("Chiedine uno nuovo"));
    let lapsed = set(&first).await;
    assert_eq!(
        (lapsed.status, lapsed.body["type"].as_str()),
        (410, Some("urn:titolare:problem:link-expired"))
    );
    assert!(
        lapsed.body["detail"]
            .as_str()
            .unwrap()
            .contains("Chiedine uno nuovo")
    );
    let sent = again(&first).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert_eq!(sent.body["sent_to"], "t***@example.it");
    assert_eq!(sent.body["links_left"], 3);
    let links = reset_links(&s, TESTDUE.email, 2).await;
    assert_eq!(links.len(), 2, "the new link went to the holder's email");
    // The account that holds the mailbox can send one too, a minute later; the cap it
    // names: 5 links per reset, then 429 for everyone.
    let path = "/v1/mailboxes/teste1234@pec.it/password-reset-link";
    for left in [2, 1, 0] {
        s.advance(60).await;
        let by_account = s.call("POST", path, As::Account("demo"), None).await;
        assert_eq!(by_account.status, 202, "{}", by_account.body);
        assert_eq!(by_account.body["links_left"], left);
    }
    s.advance(60).await;
    let capped = again(&first).await;
    assert_eq!(capped.status, 429, "{}", capped.body);
    assert!(
        capped.body["detail"]
            .as_str()
            .unwrap()
            .contains("5 link, il massimo"),
        "{}",
        capped.body
    );
    let links = reset_links(&s, TESTDUE.email, 5).await;
    assert_eq!(links.len(), 5, "no sixth link went out");
    // Only the newest link works.
    assert_eq!(state(&links[1]).await.0, "replaced");
    assert_eq!(state(&links[4]).await.0, "valid");
    let replaced = set(&links[1]).await;
    assert_eq!(replaced.status, 409, "{}", replaced.body);
    assert!(
        replaced.body["detail"]
            .as_str()
            .unwrap()
            .contains("più recente")
    );
    ok(&set(&links[4]).await, 200, "the newest link");
    let (used, words) = state(&links[4]).await;
    assert_eq!(used, "used");
    assert!(words.unwrap().contains("già stato usato"));
    let forged = s
        .call(
            "POST",
            "/v1/password-reset/check",
            As::Nobody,
            Some(json!({ "token": "x.y.z" })),
        )
        .await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let not_pending = s
        .call(
            "POST",
            "/v1/mailboxes/teste1234@pec.it/password-reset-link",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(not_pending.status, 409, "{}", not_pending.body);
    let forged = again("abc.def.1.xyz").await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let elsewhere = s
        .call(
            "POST",
            "/v1/mailboxes/nessuna@pec.it/password-reset-link",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);
    gw.shutdown().await;
}

/// Security review, high 1 (docs/security.md): every reset link goes to the email the new
/// holder verified in the change. Before, (a) a correction of that email left the old one on
/// the holder's profile, and a new link asked with the lapsed one went there; (b) the account
/// could put its own address on the profile and ask for a link for itself.
#[tokio::test]
async fn reset_links_go_only_to_the_email_the_new_holder_verified() {
    const VERIFIED: Person = Person {
        holder: "963300",
        mobile: "+393330963300",
        email: "verificata@example.it",
    };
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    // (a) The initiator corrects the new holder's email (a minute after the invitation);
    // the holder verifies the new one.
    s.advance(60).await;
    let corrected = s
        .call(
            "PATCH",
            &format!("/v1/transfers/{id}/contacts"),
            As::Account("demo"),
            Some(json!({"party": "new_holder", "email": VERIFIED.email})),
        )
        .await;
    ok(&corrected, 200, "correction");
    ok(
        &current_holder_part(&s, &id, &AZIENDA, &[("teste1234@pec.it", true)]).await,
        200,
        "current holder",
    );
    let done = new_holder_part(&s, &id, &VERIFIED, &[("teste1234@pec.it", true)]).await;
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    let first = reset_links(&s, VERIFIED.email, 1).await;
    assert_eq!(
        first.len(),
        1,
        "the first link went to the verified address"
    );
    s.advance(86_400).await;
    let again = s
        .call(
            "POST",
            "/v1/password-reset/link",
            As::Nobody,
            Some(json!({ "token": first[0] })),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["sent_to"], "v***@example.it");
    let links = reset_links(&s, VERIFIED.email, 2).await;
    assert_eq!(links.len(), 2, "the new link went to the verified address");
    let renewal = emails_with_text(&s, VERIFIED.email, "Sostituisce i link inviati prima", 1).await;
    assert_eq!(renewal.len(), 1, "it says it replaces the earlier link");

    // (b) The account puts an address of its own on the holder's profile and asks for a link.
    s.advance(60).await;
    let own = "rivenditore@example.it";
    let patched = s
        .call(
            "PATCH",
            &format!("/v1/holders/{}", TESTDUE.holder),
            As::Account("demo"),
            Some(json!({ "email": own })),
        )
        .await;
    ok(&patched, 200, "profile email changed");
    let by_account = s
        .call(
            "POST",
            "/v1/mailboxes/teste1234@pec.it/password-reset-link",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(by_account.status, 202, "{}", by_account.body);
    assert_eq!(by_account.body["sent_to"], "v***@example.it");
    let links = reset_links(&s, VERIFIED.email, 3).await;
    assert_eq!(
        links.len(),
        3,
        "the account's request went to the verified address"
    );
    for elsewhere in [own, TESTDUE.email] {
        let stray = s.emails_to(elsewhere).await;
        assert!(
            stray.iter().all(|m| !m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("password#token=")),
            "a reset link reached {elsewhere}"
        );
    }
    let mailbox = s
        .call(
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    ok(&mailbox, 200, "mailbox");
    assert_eq!(mailbox.body["password_reset_sent_to"], "v***@example.it");
    assert!(
        mailbox.body.get("password_reset_to").is_none(),
        "{}",
        mailbox.body
    );
    let set = s
        .call(
            "POST",
            "/v1/password-reset",
            As::Nobody,
            Some(json!({ "token": links[2], "password": "Nuova-Password-7" })),
        )
        .await;
    ok(&set, 200, "the newest link, in the verified holder's hands");
    gw.shutdown().await;
}

/// A whole change of holder of `mailbox` from `from` to `to`, both accepting.
async fn change_holder(s: &dyn Surface, mailbox: &str, from: &Person, to: &Person) {
    let one = [(mailbox, true)];
    let id = open_transfer(s, draft_body(&[("mailbox", mailbox)], to.holder)).await;
    ok(
        &current_holder_part(s, &id, from, &one).await,
        200,
        "current holder",
    );
    let done = new_holder_part(s, &id, to, &one).await;
    assert_eq!(done.body["status"], "completed", "{}", done.body);
}

/// Security review, medium 3: a link from an earlier change of the same mailbox, used or
/// not, neither asks for new links (it voided the later holder's link and spent their
/// budget: 4 × 202, then 429) nor resets.
#[tokio::test]
async fn a_link_from_an_earlier_change_of_the_mailbox_is_worth_nothing() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    change_holder(&s, "teste1234@pec.it", &AZIENDA, &TESTDUE).await;
    let old = reset_links(&s, TESTDUE.email, 1).await.remove(0);
    let set = |token: String| {
        let s = &s;
        async move {
            s.call(
                "POST",
                "/v1/password-reset",
                As::Nobody,
                Some(json!({ "token": token, "password": "Nuova-Password-7" })),
            )
            .await
        }
    };
    ok(
        &set(old.clone()).await,
        200,
        "the first holder sets the password",
    );
    // The mailbox changes holder again, back to the azienda.
    change_holder(&s, "teste1234@pec.it", &TESTDUE, &AZIENDA).await;
    s.advance(60).await;
    for _ in 0..5 {
        let refused = s
            .call(
                "POST",
                "/v1/password-reset/link",
                As::Nobody,
                Some(json!({ "token": old })),
            )
            .await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("cambio di titolare precedente"),
            "{}",
            refused.body
        );
        s.advance(60).await;
    }
    let refused = set(old.clone()).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let mailbox = s
        .call(
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            As::Account("demo"),
            None,
        )
        .await;
    assert_eq!(
        mailbox.body["password_reset_links"], 1,
        "still the first link"
    );
    let current = s
        .reset_token("demo", "teste1234@pec.it", AZIENDA.email)
        .await;
    ok(
        &set(current).await,
        200,
        "the later holder's link still works",
    );
    gw.shutdown().await;
}

/// The invitations to `to` for request `id`, once there are `count`.
async fn invitations_to(s: &dyn Surface, id: &str, to: &str, count: usize) -> Vec<Value> {
    emails_with_text(s, to, &format!("gestisci#token={id}."), count).await
}

#[tokio::test]
async fn the_initiator_reinvites_and_corrects_a_contact_the_holder_has_not_verified() {
    let gw = local_gateway().await;
    let s = surface(&gw);
    let id = open_transfer(
        &s,
        draft_body(&[("mailbox", "teste1234@pec.it")], TESTDUE.holder),
    )
    .await;
    let invite = |party: &str| {
        let (s, path, body) = (
            &s,
            format!("/v1/transfers/{id}/invitations"),
            json!({ "party": party }),
        );
        async move { s.call("POST", &path, As::Account("demo"), Some(body)).await }
    };
    let correct = |body: Value| {
        let (s, path) = (&s, format!("/v1/transfers/{id}/contacts"));
        async move {
            s.call("PATCH", &path, As::Account("demo"), Some(body))
                .await
        }
    };
    // A reminder: one a minute after the opening's, the same link.
    let soon = invite("new_holder").await;
    assert_eq!(soon.status, 429, "{}", soon.body);
    assert!(soon.header("retry-after").is_some());
    s.advance(60).await;
    let sent = invite("new_holder").await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert_eq!(sent.body["sent_to"], "t***@example.it");
    assert_eq!(sent.body["invitations_left"], 3);
    let both = invitations_to(&s, &id, TESTDUE.email, 2).await;
    assert_eq!(both.len(), 2, "the reminder reached the new holder");
    // The cap it names: 5 invitations per holder, then 429.
    for left in [2, 1, 0] {
        s.advance(60).await;
        let sent = invite("new_holder").await;
        assert_eq!(sent.status, 202, "{}", sent.body);
        assert_eq!(sent.body["invitations_left"], left);
    }
    s.advance(60).await;
    let capped = invite("new_holder").await;
    assert_eq!(capped.status, 429, "{}", capped.body);
    assert!(
        capped.body["detail"]
            .as_str()
            .unwrap()
            .contains("il massimo"),
        "{}",
        capped.body
    );
    assert_eq!(invitations_to(&s, &id, TESTDUE.email, 5).await.len(), 5);
    let first_link = s.link(&id, "new_holder", TESTDUE.email).await;
    assert!(
        both[1]["text"].as_str().unwrap().contains(&first_link),
        "same link"
    );
    let refused = invite("initiator").await;
    assert_eq!(refused.status, 422, "{}", refused.body);

    // The current holder asks for a code, then the initiator corrects their mobile: the old
    // link and the code on its way to the old number stop working.
    let old_link = s.link(&id, "current_holder", AZIENDA.email).await;
    ok(
        &decide(&s, &old_link, &[("teste1234@pec.it", true)]).await,
        200,
        "decisions",
    );
    ok(
        &verify_code_send_only(&s, &old_link, "sms").await,
        202,
        "code to the old number",
    );
    let old_code = s.code(&id, "current_holder", "sms", AZIENDA.mobile).await;
    s.advance(60).await;
    let corrected = correct(json!({"party": "current_holder", "mobile": "+39 347 111 2222"})).await;
    assert_eq!(corrected.status, 200, "{}", corrected.body);
    assert_eq!(
        corrected.body["contacts"]["current_holder"]["invitations"],
        2
    );
    let audit = corrected.body["audit"].as_array().unwrap();
    let line = audit
        .iter()
        .find(|a| a["action"] == "contact_corrected")
        .unwrap();
    assert!(
        !line["detail"].as_str().unwrap().contains("1112222"),
        "masked: {line}"
    );
    let replaced = s.call("GET", "/v1/party", As::Link(&old_link), None).await;
    assert_eq!(replaced.status, 401, "{}", replaced.body);
    assert_eq!(replaced.body["title"], "Link sostituito");
    let links = invitations_to(&s, &id, AZIENDA.email, 2).await;
    assert_eq!(links.len(), 2, "a new invitation with the new link");
    let new_link = links
        .iter()
        .map(|m| token_in(m, "gestisci#token="))
        .find(|t| t.starts_with(&format!("{id}.ch1.")))
        .expect("the new link");
    let stale = s
        .call(
            "POST",
            "/v1/party/codes/verify",
            As::Link(&new_link),
            Some(json!({"channel": "sms", "code": old_code})),
        )
        .await;
    assert_eq!(
        stale.status, 409,
        "the old number's code is void: {}",
        stale.body
    );
    let moved = Person {
        holder: AZIENDA.holder,
        mobile: "+393471112222",
        email: AZIENDA.email,
    };
    ok(
        &verify_code(&s, &id, &new_link, "current_holder", "sms", moved.mobile).await,
        200,
        "the code to the corrected number",
    );
    // Verified: the mobile stays; the same correction again changes nothing.
    let late = correct(json!({"party": "current_holder", "mobile": "+39 347 333 4444"})).await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(
        late.body["detail"]
            .as_str()
            .unwrap()
            .contains("ha già verificato il cellulare")
    );
    let same = correct(json!({"party": "current_holder", "mobile": "+39 347 111 2222"})).await;
    assert_eq!(same.status, 200, "{}", same.body);
    let bad = correct(json!({"party": "new_holder", "email": "non-una-email"})).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body["errors"]["email"].is_string());
    gw.shutdown().await;
}
