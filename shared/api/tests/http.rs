//! The handlers through their real entry point (`App::handle` on a `lambda_http::Request`),
//! over the embedded store: every kind of bad input gets a clear 4xx problem and writes nothing.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use std::sync::Arc;
use titolare_api::{App, Services};
use titolare_domain::ports::{Clock, OperationReader};
use titolare_domain::{AccountId, PageRequest};
use titolare_store::TableStore;
use titolare_store::clock::FixedClock;
use titolare_store_embedded::EmbeddedBackend;

struct Harness {
    app: App,
    store: Arc<TableStore>,
}

fn harness() -> Harness {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("titolare-api-{}/{n}.redb", std::process::id()));
    // A process id comes back (a test is a process under nextest): clear what an earlier
    // process of the same id left.
    let _ = std::fs::remove_file(&path);
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(1_795_420_800));
    let store = Arc::new(TableStore::new(
        Arc::new(EmbeddedBackend::open(&path).unwrap()),
        clock.clone(),
    ));
    Harness {
        app: App::new(Services {
            store: store.clone(),
            clock,
            key: Some(titolare_domain::secret::SecretKey::from_bytes(&[1; 32]).unwrap()),
            codes: Default::default(),
            rules: Default::default(),
            metrics: std::sync::Arc::new(titolare_domain::metrics::NoMetrics),
        }),
        store,
    }
}

fn request(
    method: &str,
    uri: &str,
    account: Option<&str>,
    body: Body,
    content_type: Option<&str>,
) -> Request {
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    let mut req = builder.body(body).unwrap();
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    static REQUESTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    ctx.request_id = Some(format!(
        "test-request-{}",
        REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    if let Some(account) = account {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims.insert("sub".into(), account.into());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        ctx.authorizer = Some(authorizer);
    }
    req.extensions_mut()
        .insert(RequestContext::ApiGatewayV2(ctx));
    req
}

impl Harness {
    async fn call(&self, req: Request) -> (u16, Value, http::HeaderMap) {
        let response = self.app.handle(req).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        };
        (status, body, headers)
    }

    async fn get(&self, uri: &str) -> (u16, Value) {
        let (s, b, _) = self
            .call(request("GET", uri, Some("acc"), Body::Empty, None))
            .await;
        (s, b)
    }

    async fn send(&self, method: &str, uri: &str, body: &str) -> (u16, Value) {
        let (s, b, _) = self
            .call(request(
                method,
                uri,
                Some("acc"),
                Body::Text(body.into()),
                Some("application/json"),
            ))
            .await;
        (s, b)
    }

    async fn operations(&self) -> usize {
        self.store
            .operations(&AccountId::parse("acc").unwrap(), &PageRequest::default())
            .await
            .unwrap()
            .items
            .len()
    }
}

fn privato() -> Value {
    json!({
        "tipo": "privato", "nome": "testdue", "cognome": "duetest", "codice_fiscale": "DTSTTD90A01A851Q",
        "indirizzo": "Via Roma 1", "cap": "52011", "provincia": "AR", "comune": "Bibbiena",
        "cellulare": "+39 333 1234567", "email": "testdue@example.it"
    })
}

fn assert_problem(status: u16, body: &Value, expected_status: u16, kind: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["status"], expected_status);
    assert_eq!(
        body["type"],
        format!("urn:titolare:problem:{kind}"),
        "{body}"
    );
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn create_read_update_and_log() {
    let h = harness();
    let (status, created) = h.send("POST", "/v1/holders", &privato().to_string()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["codice_fiscale"], "DTSTTD90A01A851Q");
    assert_eq!(created["cellulare"], "+393331234567");
    assert!(
        created["editable_fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f != "nome")
    );
    let (status, read) = h.get(&format!("/v1/holders/{id}")).await;
    assert_eq!((status, &read), (200, &created));
    let (status, updated) = h
        .send(
            "PATCH",
            &format!("/v1/holders/{id}"),
            r#"{"indirizzo": "Via Nuova 2", "fax": "06 1234567"}"#,
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["fax"], "+39061234567");
    let (_, ops) = h.get("/v1/operations").await;
    let kinds: Vec<_> = ops["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["holder_updated", "holder_created"]);
    assert!(
        ops["items"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("indirizzo, fax")
    );
}

#[tokio::test]
async fn a_fixed_field_refuses_the_whole_update() {
    let h = harness();
    let (_, created) = h.send("POST", "/v1/holders", &privato().to_string()).await;
    let uri = format!("/v1/holders/{}", created["id"].as_str().unwrap());
    let (status, body) = h
        .send(
            "PATCH",
            &uri,
            r#"{"nome": "Mario", "cognome": "Rossi", "indirizzo": "Via X 1"}"#,
        )
        .await;
    assert_problem(status, &body, 422, "fixed-fields");
    assert_eq!(
        body["errors"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["cognome", "nome"]
    );
    let (_, after) = h.get(&uri).await;
    assert_eq!(after, created, "nothing changed");
    assert_eq!(h.operations().await, 1);
}

#[tokio::test]
async fn bad_bodies_get_a_4xx_and_write_nothing() {
    let h = harness();
    let big = format!(r#"{{"nome": "{}"}}"#, "a".repeat(70 * 1024));
    let cases: Vec<(Body, Option<&str>, u16, &str)> = vec![
        (
            Body::Text("{not json".into()),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Text("".into()),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Text("[1,2]".into()),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Text(r#"{"nome": 5}"#.into()),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Text(r#"{"nome": "a", "unknown": 1}"#.into()),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Text(r#"{"tipo": "privato"} trailing"#.into()),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Binary(vec![b'{', 0xff, 0xfe, b'}']),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            Body::Text(big),
            Some("application/json"),
            413,
            "payload-too-large",
        ),
        (
            Body::Text(privato().to_string()),
            Some("text/plain"),
            415,
            "unsupported-media-type",
        ),
        (
            Body::Text(privato().to_string()),
            None,
            415,
            "unsupported-media-type",
        ),
        (
            Body::Text(r#"{"tipo": "privato"}"#.into()),
            Some("application/json"),
            422,
            "validation",
        ),
        (
            Body::Text(r#"{"tipo": "marziano"}"#.into()),
            Some("application/json"),
            422,
            "validation",
        ),
    ];
    for (body, ct, status, kind) in cases {
        let (s, problem, headers) = h
            .call(request("POST", "/v1/holders", Some("acc"), body, ct))
            .await;
        assert_problem(s, &problem, status, kind);
        assert_eq!(headers["content-type"], "application/problem+json");
    }
    let (_, body, _) = h
        .call(request(
            "POST",
            "/v1/holders",
            Some("acc"),
            Body::Text(r#"{"nome": 5}"#.into()),
            Some("application/json"),
        ))
        .await;
    assert!(
        body["errors"]["nome"]
            .as_str()
            .unwrap()
            .contains("serve un testo"),
        "{body}"
    );
    let (_, body, _) = h
        .call(request(
            "POST",
            "/v1/holders",
            Some("acc"),
            Body::Text(r#"{"nomee": "x"}"#.into()),
            Some("application/json"),
        ))
        .await;
    assert_eq!(
        body["errors"]["nomee"], "Campo sconosciuto: toglilo dalla richiesta.",
        "{body}"
    );
    assert_eq!(h.operations().await, 0, "nothing written");
    let (_, search) = h.get("/v1/holders?tipo=privato").await;
    assert_eq!(search["total"], 0);
}

#[tokio::test]
async fn invalid_values_are_named_field_by_field() {
    let h = harness();
    let mut input = privato();
    input["codice_fiscale"] = "DTSTTD90A01A851X".into();
    input["cap"] = "123".into();
    input["provincia"] = "ZZ".into();
    input["email"] = "non-una-email".into();
    input["cellulare"] = "06 1234567".into();
    let (status, body) = h.send("POST", "/v1/holders", &input.to_string()).await;
    assert_problem(status, &body, 422, "validation");
    let errors = body["errors"].as_object().unwrap();
    for field in ["codice_fiscale", "cap", "provincia", "email", "cellulare"] {
        assert!(errors.contains_key(field), "{field}: {body}");
    }
    assert_eq!(
        errors["codice_fiscale"],
        "Il carattere di controllo del codice fiscale è errato: controlla di averlo scritto bene."
    );
}

#[tokio::test]
async fn bad_queries_get_a_400() {
    let h = harness();
    for uri in [
        "/v1/holders",
        "/v1/holders?page_size=20",
        "/v1/holders?cognome=",
        "/v1/holders?colore=blu",
        "/v1/holders?cognome=a&cognome=b",
        "/v1/holders?cognome=rossi&page_size=0",
        "/v1/holders?cognome=rossi&page_size=101",
        "/v1/holders?cognome=rossi&page_size=tanti",
        "/v1/holders?cognome=rossi&cursor=%%%",
        "/v1/holders?codice_fiscale=ABC",
        "/v1/holders?tipo=marziano",
        "/v1/holders?id=abc",
        "/v1/mailboxes?held_by_others=forse",
        "/v1/mailboxes?foo=1",
        "/v1/holders/19?x=1",
        "/v1/operations?page_size=-1",
        "/v1/holders?cognome=%FF",
        "/v1/holders?cognome=%4",
    ] {
        let (status, body) = h.get(uri).await;
        assert_problem(status, &body, 400, "bad-request");
    }
    let (_, body) = h.get("/v1/holders").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("almeno un criterio")
    );
    let (_, body) = h.get("/v1/holders?colore=blu").await;
    assert!(
        body["errors"]["colore"]
            .as_str()
            .unwrap()
            .starts_with("Parametro sconosciuto")
    );
}

#[tokio::test]
async fn identity_comes_only_from_the_authorizer() {
    let h = harness();
    let (status, body, _) = h
        .call(request(
            "GET",
            "/v1/holders?cognome=x",
            None,
            Body::Empty,
            None,
        ))
        .await;
    assert_problem(status, &body, 401, "unauthorized");
    let (status, body, _) = h
        .call(request(
            "POST",
            "/v1/holders",
            None,
            Body::Text(privato().to_string()),
            Some("application/json"),
        ))
        .await;
    assert_problem(status, &body, 401, "unauthorized");
    let (status, body, _) = h
        .call(request(
            "GET",
            "/v1/holders?cognome=x",
            Some("bad account id!"),
            Body::Empty,
            None,
        ))
        .await;
    assert_problem(status, &body, 401, "unauthorized");
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let h = harness();
    let (status, body) = h.get("/v1/nothing").await;
    assert_problem(status, &body, 404, "not-found");
    let (status, body) = h.send("DELETE", "/v1/holders/19", "").await;
    assert_problem(status, &body, 405, "method-not-allowed");
    let (status, body) = h.get("/v1/holders/0019x").await;
    assert_problem(status, &body, 404, "not-found");
    let (status, body) = h.get("/v1/mailboxes/non-esiste@pec.it").await;
    assert_problem(status, &body, 404, "not-found");
}

#[tokio::test]
async fn idempotency_key_returns_the_first_answer() {
    let h = harness();
    let body = privato().to_string();
    let with_key = |body: &str| {
        let mut req = request(
            "POST",
            "/v1/holders",
            Some("acc"),
            Body::Text(body.into()),
            Some("application/json"),
        );
        req.headers_mut()
            .insert("idempotency-key", "abc-123".parse().unwrap());
        req
    };
    let (s1, first, _) = h.call(with_key(&body)).await;
    let (s2, second, headers) = h.call(with_key(&body)).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second);
    assert_eq!(headers["idempotent-replayed"], "true");
    let (_, search) = h.get("/v1/holders?cognome=duetest").await;
    assert_eq!(search["total"], 1, "created once");
    let mut other = privato();
    other["indirizzo"] = "Via Altra 9".into();
    let (status, problem, _) = h.call(with_key(&other.to_string())).await;
    assert_problem(status, &problem, 422, "idempotency-key-reused");
}
