//! The HTTP side: hyper on loopback, each request turned into the `lambda_http::Request`
//! API Gateway (HTTP API, payload 2.0) would hand a function, with the JWT authorizer's claims.

use crate::Local;
use crate::dev::valid_username;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use titolare_domain::ports::Clock;
use titolare_domain::secret::SecretKey;
use titolare_messaging::LocalOutbox;
use titolare_store::TableStore;
use tokio::net::TcpListener;

/// API Gateway's own payload limit is far above the API's 64 KiB; the handlers refuse those.
const GATEWAY_MAX_BODY: usize = 1024 * 1024;

pub struct Server {
    pub address: SocketAddr,
    /// For tests that set data up in the running gateway's store.
    pub store: Arc<TableStore>,
    /// The service's clock (moved by `/dev/clock`).
    pub clock: Arc<titolare_store::clock::OffsetClock>,
    pub key: SecretKey,
    pub outbox: Arc<LocalOutbox>,
    task: tokio::task::JoinHandle<()>,
    /// Dropping it closes every open connection.
    stop: tokio::sync::watch::Sender<()>,
    gateway: std::sync::Weak<Gateway>,
}

impl Server {
    /// Stops accepting, closes open connections and waits until the store is released.
    pub async fn shutdown(self) {
        let gateway = self.gateway.clone();
        drop(self);
        for _ in 0..500 {
            if gateway.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        self.stop.send_replace(());
    }
}

struct Gateway {
    local: Local,
    requests: AtomicU64,
    boot: u64,
    /// The panel's files (`web/`).
    web_dir: std::path::PathBuf,
}

type HyperResponse = hyper::Response<Full<Bytes>>;

/// Listens on 127.0.0.1:`port` (0 for any free port) until the returned server is dropped.
pub async fn serve_with(local: Local, listener: TcpListener) -> std::io::Result<Server> {
    let address = listener.local_addr()?;
    let boot = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (store, key, outbox) = (local.store.clone(), local.key.clone(), local.outbox.clone());
    let clock = local.clock.clone();
    let gateway = Arc::new(Gateway {
        local,
        requests: AtomicU64::new(0),
        boot,
        web_dir: crate::web::default_dir(),
    });
    let weak = Arc::downgrade(&gateway);
    let (stop, stopped) = tokio::sync::watch::channel(());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let gateway = gateway.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, std::convert::Infallible>(gateway.handle(req, peer).await) }
                });
                let connection =
                    http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = stopped.changed() => {}
                }
            });
        }
    });
    Ok(Server {
        address,
        store,
        clock,
        key,
        outbox,
        task,
        stop,
        gateway: weak,
    })
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> HyperResponse {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

fn problem(status: u16, detail: &str) -> HyperResponse {
    let body = serde_json::json!({ "type": "urn:titolare:problem:bad-request", "title": "Richiesta non valida", "status": status, "detail": detail });
    reply(status, "application/problem+json", body.to_string())
}

impl Gateway {
    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> HyperResponse {
        let (parts, body) = req.into_parts();
        let bytes = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return problem(413, "Il corpo della richiesta è troppo grande."),
        };
        match (parts.method.as_str(), parts.uri.path()) {
            ("POST", "/dev/login") => return self.dev_login(&bytes),
            ("POST", "/dev/clock") => return self.dev_clock(&bytes),
            ("GET", "/dev/outbox") => {
                if parts.uri.query() == Some("settled") {
                    self.settled().await;
                }
                return reply(
                    200,
                    "application/json",
                    serde_json::to_string(&self.outbox_json()).unwrap_or_default(),
                );
            }
            ("GET", "/dev/outbox.html") => {
                return reply(200, "text/html; charset=utf-8", self.outbox_html());
            }
            ("GET", "/dev/platform") => {
                let body = serde_json::to_string(&self.local.platform.json()).unwrap_or_default();
                return reply(200, "application/json", body);
            }
            ("GET", "/dev/platform.html") => {
                return reply(200, "text/html; charset=utf-8", self.platform_html());
            }
            ("GET", "/dev/events") => {
                let body = serde_json::to_string(&self.local.bus.json()).unwrap_or_default();
                return reply(200, "application/json", body);
            }
            ("GET", "/dev/platform/next") => {
                let commands = self.local.platform.next(10);
                return reply(
                    200,
                    "application/json",
                    serde_json::to_string(&commands).unwrap_or_default(),
                );
            }
            ("POST", "/dev/platform/acks") => return self.platform_ack(&bytes).await,
            ("POST", "/dev/outbox/report") => return self.delivery_report(&bytes).await,
            ("POST", "/dev/inventory") => return self.inventory(&bytes).await,
            ("GET" | "HEAD", path) if !path.starts_with("/v1/") && !path.starts_with("/dev/") => {
                if let Some(page) = crate::web::serve(&self.web_dir, path) {
                    return page;
                }
            }
            _ => {}
        }
        let request = self.lambda_request(parts, bytes, peer);
        let response = self.local.app.handle(request).await;
        let (parts, body) = response.into_parts();
        let bytes = match body {
            lambda_http::Body::Text(text) => Bytes::from(text),
            lambda_http::Body::Binary(data) => Bytes::from(data),
            _ => Bytes::new(),
        };
        hyper::Response::from_parts(parts, Full::new(bytes))
    }

    /// What API Gateway would pass: the raw path and query, a request context with the
    /// caller's address and, when the bearer token verifies, the authorizer's claims.
    fn lambda_request(
        &self,
        parts: http::request::Parts,
        bytes: Bytes,
        peer: SocketAddr,
    ) -> lambda_http::Request {
        let claims = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| self.local.login.verify(token.trim()));
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.request_id = Some(format!(
            "local-{:x}-{}",
            self.boot,
            self.requests.fetch_add(1, Ordering::Relaxed)
        ));
        context.stage = Some("$default".into());
        context.http.method = parts.method.clone();
        context.http.path = Some(parts.uri.path().to_owned());
        context.http.source_ip = Some(peer.ip().to_string());
        context.http.user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        context.authorizer = claims.map(|claims| {
            let mut authorizer = ApiGatewayRequestAuthorizer::default();
            let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
            jwt.claims = claims;
            authorizer.jwt = Some(jwt);
            authorizer
        });
        let body = if bytes.is_empty() {
            lambda_http::Body::Empty
        } else {
            match String::from_utf8(bytes.to_vec()) {
                Ok(text) => lambda_http::Body::Text(text),
                Err(e) => lambda_http::Body::Binary(e.into_bytes()),
            }
        };
        let mut request = http::Request::from_parts(parts, body);
        request
            .extensions_mut()
            .insert(RequestContext::ApiGatewayV2(context));
        request
    }

    /// Waits (up to 10 s) until no queued message is left to send, so a test reads the
    /// outbox once everything its calls queued has gone out, instead of sleeping.
    async fn settled(&self) {
        use titolare_domain::ports::{Clock, OutboxStore};
        for _ in 0..500 {
            // Every message not yet sent, whenever its retry falls (an hour is past any
            // lease; a later time would pass the items' TTL, which hides them).
            let later = self.local.clock.now() + jiff::SignedDuration::from_hours(1);
            match self.local.store.unsent(later, 1).await {
                Ok(left) if left.is_empty() => return,
                _ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    }

    /// `[{channel, to, subject, text, sent_at}]`, newest first.
    fn outbox_json(&self) -> Vec<serde_json::Value> {
        self.local
            .outbox
            .entries()
            .into_iter()
            .map(|e| serde_json::json!({ "id": e.id, "channel": e.channel, "to": e.to, "subject": e.subject, "text": e.text, "sent_at": e.sent_at }))
            .collect()
    }

    fn outbox_html(&self) -> String {
        let escape = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let rows: String = self
            .local
            .outbox
            .entries()
            .iter()
            .map(|e| {
                let id = escape(&e.id);
                let buttons: String = [
                    ("delivered", "consegnato"),
                    ("bounced", "rimbalzato"),
                    ("complaint", "segnalato come spam"),
                    ("failed", "non consegnato"),
                ]
                .iter()
                .map(|(outcome, label)| {
                    format!("<button type=\"button\" onclick=\"report('{id}','{outcome}')\">{label}</button> ")
                })
                .collect();
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{buttons}</td></tr>",
                    escape(&e.sent_at),
                    e.channel.as_str(),
                    escape(&e.to),
                    escape(&e.subject),
                    escape(&e.text)
                )
            })
            .collect();
        format!(
            "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>Outbox locale</title><script>async function report(id, outcome) {{ const r = await fetch('/dev/outbox/report', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify({{ id, outcome }}) }}); document.getElementById('said').textContent = id + ': ' + (await r.text()); }}</script></head><body style=\"font-family:sans-serif\"><h1>Outbox locale</h1><p>Email e SMS inviati, dal più recente. Ogni pulsante fa rispondere il fornitore come farebbero SES o SNS: il pannello mostra poi «consegnato» o «non consegnato».</p><p id=\"said\" role=\"status\"></p><table border=\"1\" cellpadding=\"6\"><tr><th>Inviato</th><th>Canale</th><th>A</th><th>Oggetto</th><th>Testo</th><th>Esito dal fornitore</th></tr>{rows}</table></body></html>"
        )
    }

    /// What a provider would report of a message the local outbox took (docs/rules.md,
    /// "Delivery"), recorded as the delivery functions record SES's and SNS's reports:
    /// `{"id": "local-…", "outcome": "delivered" | "delayed" | "bounced" | "complaint" |
    /// "failed"}`, so the panel can be seen in each state.
    async fn delivery_report(&self, body: &[u8]) -> HyperResponse {
        use titolare_domain::delivery::{Failure, Outcome, Report};
        let asked: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let (Some(id), Some(outcome)) = (asked["id"].as_str(), asked["outcome"].as_str()) else {
            return problem(
                400,
                "Indica {\"id\": \"local-…\", \"outcome\": \"delivered\"} (o delayed, bounced, complaint, failed).",
            );
        };
        let failed = |failure| Outcome::Failed { failure };
        let outcome = match outcome {
            "delivered" => Outcome::Delivered,
            "delayed" => Outcome::Delayed,
            "bounced" => failed(Failure::AddressUnknown),
            "complaint" => failed(Failure::Complaint),
            "failed" => failed(Failure::Carrier {
                response: "Unknown error attempting to reach phone".into(),
            }),
            _ => {
                return problem(
                    400,
                    "Esito sconosciuto: usa delivered, delayed, bounced, complaint o failed.",
                );
            }
        };
        let report = Report {
            provider_id: id.to_owned(),
            at: self.local.clock.now(),
            outcome,
        };
        match titolare_api::delivery::record(
            &*self.local.store,
            &titolare_domain::metrics::NoMetrics,
            &self.local.rules,
            self.local.clock.now(),
            &report,
        )
        .await
        {
            Ok(recorded) => reply(
                200,
                "application/json",
                serde_json::json!({ "recorded": format!("{recorded:?}").to_lowercase() })
                    .to_string(),
            ),
            Err(e) => problem(503, &e.detail()),
        }
    }

    /// One inventory message, through the ingest path the queue's messages take (what the
    /// provider's systems would send; docs/rules.md, "The inventory").
    async fn inventory(&self, body: &[u8]) -> HyperResponse {
        use titolare_api::inventory::{IngestError, ingest};
        match ingest(&*self.local.store, &String::from_utf8_lossy(body)).await {
            Ok(verdict) => reply(
                200,
                "application/json",
                serde_json::json!({ "applied": verdict == titolare_domain::inventory::Verdict::Apply }).to_string(),
            ),
            Err(IngestError::Invalid(reason)) => problem(400, &reason.to_string()),
            Err(IngestError::Store(reason)) => problem(503, &reason.to_string()),
        }
    }

    /// An adapter's acknowledgement, recorded as the ack function records one from the queue.
    async fn platform_ack(&self, body: &[u8]) -> HyperResponse {
        use titolare_api::platform::{PlatformError, Recorded, record_ack};
        let text = String::from_utf8_lossy(body);
        match record_ack(
            &*self.local.store,
            &titolare_domain::metrics::NoMetrics,
            &text,
        )
        .await
        {
            Ok(recorded) => {
                if let Ok(ack) = titolare_domain::platform::Ack::parse(&text) {
                    self.local.platform.acknowledged(&ack);
                }
                let word = match recorded {
                    Recorded::Recorded(_) => "recorded",
                    Recorded::Already => "already",
                };
                reply(
                    200,
                    "application/json",
                    serde_json::json!({ "ack": word }).to_string(),
                )
            }
            Err(PlatformError::Invalid(reason)) => problem(400, &reason),
            Err(PlatformError::Unavailable(reason)) => problem(503, &reason),
        }
    }

    fn platform_html(&self) -> String {
        let escape = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let rows: String = self
            .local
            .platform
            .json()
            .iter()
            .map(|e| {
                let c = &e["command"];
                let ack = match &e["ack"] {
                    serde_json::Value::Null => "in attesa".to_owned(),
                    a => format!(
                        "{} {}",
                        a["result"].as_str().unwrap_or(""),
                        a["at"].as_str().unwrap_or("")
                    ),
                };
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(c["id"].as_str().unwrap_or("")),
                    escape(c["type"].as_str().unwrap_or("")),
                    escape(c["target"].as_str().unwrap_or("")),
                    e["offers"],
                    escape(&ack)
                )
            })
            .collect();
        format!(
            "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\"><title>Sistema di posta locale</title></head><body style=\"font-family:sans-serif\"><h1>Sistema di posta locale</h1><p>Comandi inviati al sistema di posta, dal più vecchio.</p><table border=\"1\" cellpadding=\"6\"><tr><th>Comando</th><th>Tipo</th><th>Casella o dominio</th><th>Offerto</th><th>Esito</th></tr>{rows}</table></body></html>"
        )
    }

    fn dev_login(&self, body: &[u8]) -> HyperResponse {
        let username = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("username")
                    .and_then(|u| u.as_str())
                    .map(str::to_owned)
            });
        match username {
            Some(name) if valid_username(&name) => reply(
                200,
                "application/json",
                serde_json::json!({ "token": self.local.login.issue(&name) }).to_string(),
            ),
            _ => problem(
                400,
                "Indica {\"username\": \"demo\"} (lettere, cifre, punto, trattino e trattino basso).",
            ),
        }
    }

    fn dev_clock(&self, body: &[u8]) -> HyperResponse {
        let seconds = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("advance_seconds").and_then(|s| s.as_i64()));
        match seconds {
            Some(s) if (0..=10 * 365 * 86_400).contains(&s) => {
                self.local.clock.advance(s);
                reply(
                    200,
                    "application/json",
                    serde_json::json!({ "now": self.local.clock.now().to_string() }).to_string(),
                )
            }
            _ => problem(
                400,
                "Indica {\"advance_seconds\": N} con N intero non negativo.",
            ),
        }
    }
}
