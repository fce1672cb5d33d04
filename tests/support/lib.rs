//! Helpers for the end-to-end tests: a small HTTP client and a local gateway on a free port.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::path::PathBuf;

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl HttpClient {
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
            .expect("request");
        let response = self
            .client
            .request(request)
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            content_type,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), None).await
    }

    /// A token from the gateway's `/dev/login`.
    pub async fn login(&self, username: &str) -> String {
        let reply = self
            .send(
                "POST",
                "/dev/login",
                None,
                Some(&format!(r#"{{"username":"{username}"}}"#)),
            )
            .await;
        assert_eq!(reply.status, 200, "login: {}", reply.body);
        reply.body["token"].as_str().expect("token").to_owned()
    }
}

/// A local gateway on a free port over a fresh data folder, seeded with the demo data.
pub struct LocalGateway {
    pub client: HttpClient,
    pub data_dir: PathBuf,
    _server: titolare_local::Server,
}

impl LocalGateway {
    /// The running server: its store and secret key, for tests that set data up.
    pub fn server(&self) -> &titolare_local::Server {
        &self._server
    }

    /// Stops the gateway and waits until its database file is free again.
    pub async fn shutdown(self) -> PathBuf {
        self._server.shutdown().await;
        self.data_dir
    }
}

pub async fn local_gateway() -> LocalGateway {
    local_gateway_with(titolare_domain::wizard::Rules::default()).await
}

/// A gateway whose wizard follows `rules` (the policies).
pub async fn local_gateway_with(rules: titolare_domain::wizard::Rules) -> LocalGateway {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let data_dir = std::env::temp_dir().join(format!(
        "titolare-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let server = titolare_local::serve(titolare_local::Config {
        rules,
        ..titolare_local::Config::new(0, data_dir.clone())
    })
    .await
    .expect("gateway starts");
    LocalGateway {
        client: HttpClient::new(format!("http://{}", server.address)),
        data_dir,
        _server: server,
    }
}
