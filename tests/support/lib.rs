//! Helpers for the end-to-end tests: a small HTTP client and a local gateway on a free port.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::path::PathBuf;

pub mod dovecot;
pub mod flow;
pub mod openapi;

/// A binary of the workspace (`titolare-local`, a Lambda function), fresh from the sources.
/// `infra/scripts/test` builds the whole workspace once, then names the folder of that build
/// in `TITOLARE_BIN_DIR`; a test run any other way builds it here first (once per process),
/// with the same selection as that build (`--workspace --all-targets`): the same features,
/// so the dependencies are not compiled a second time, and no binary older than the sources
/// is ever started: one named by `TITOLARE_BIN_DIR` that is older than a source file fails
/// the test. See docs/testing.md.
pub fn workspace_binary(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let given = std::env::var_os("TITOLARE_BIN_DIR").is_some();
    let dir = DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("TITOLARE_BIN_DIR") {
            return PathBuf::from(dir);
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "--workspace",
                "--all-targets",
                "--locked",
                "--quiet",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the workspace does not build");
        // This test binary is target/<profile>/deps/<name>-<hash>; the others are beside deps.
        let exe = std::env::current_exe().expect("the test binary's path");
        exe.parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>")
            .to_path_buf()
    });
    let binary = dir.join(name);
    if given {
        let built = std::fs::metadata(&binary)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let (newest, source) = newest_source();
        assert!(
            built >= *newest,
            "{} is older than {}: build the workspace again (cargo build --workspace --all-targets)",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// The most recently changed source of the workspace's binaries, and when.
fn newest_source() -> &'static (std::time::SystemTime, PathBuf) {
    static NEWEST: std::sync::OnceLock<(std::time::SystemTime, PathBuf)> =
        std::sync::OnceLock::new();
    NEWEST.get_or_init(|| {
        fn walk(dir: &std::path::Path, newest: &mut (std::time::SystemTime, PathBuf)) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, newest);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "rs" || e == "toml" || e == "xml")
                    && let Ok(modified) = entry.metadata().and_then(|m| m.modified())
                    && modified > newest.0
                {
                    *newest = (modified, path);
                }
            }
        }
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let mut newest = (std::time::UNIX_EPOCH, root.join("Cargo.lock"));
        for dir in ["shared", "functions", "infra/local", "infra/phone"] {
            walk(&root.join(dir), &mut newest);
        }
        newest
    })
}

/// The real `titolare-local` binary ([`workspace_binary`]), started on a free port of
/// 127.0.0.1 with its data in `dir`, and killed when dropped.
pub struct LocalBinary {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for LocalBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary (`configure` sets its environment and output) and waits for its port.
pub async fn start_local_binary(
    dir: &std::path::Path,
    configure: impl FnOnce(&mut std::process::Command),
) -> LocalBinary {
    let binary = workspace_binary("titolare-local");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = std::process::Command::new(binary);
    command
        .env("PORT", port.to_string())
        .env("TITOLARE_DATA_DIR", dir);
    configure(&mut command);
    let child = command.spawn().expect("titolare-local starts");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    LocalBinary { child, port }
}

/// What a log line must never hold, by shape: an email address, a phone number in E.164, a
/// codice fiscale, a holder's link token, a password-reset token or a JWT; plus any of
/// `known` (codes and tokens the test saw). Returns what was found.
pub fn personal_data_in(line: &str, known: &[String]) -> Option<String> {
    static SHAPES: std::sync::OnceLock<Vec<(&str, regex::Regex)>> = std::sync::OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        [
            (
                "email address",
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
            ),
            ("phone number", r"\+\d{9,15}\b"),
            (
                "codice fiscale",
                r"(?i)\b[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z]\b",
            ),
            ("link token", r"\b\d+\.(?:ch|nh)\d*\.[A-Za-z0-9_-]{16,}"),
            (
                "password-reset token",
                r"[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{4,}\.\d{9,11}\.\d+\.[A-Za-z0-9_-]{16,}",
            ),
            ("JWT", r"\beyJ[A-Za-z0-9_-]{8,}\."),
        ]
        .into_iter()
        .map(|(name, pattern)| (name, regex::Regex::new(pattern).expect("pattern")))
        .collect()
    });
    if let Some((name, found)) = shapes
        .iter()
        .find_map(|(name, re)| re.find(line).map(|m| (name, m.as_str())))
    {
        return Some(format!("{name} {found}"));
    }
    known
        .iter()
        .find(|k| !k.is_empty() && line.contains(k.as_str()))
        .map(|k| format!("known secret {k}"))
}

/// The JSON Schema (draft 2020-12, formats checked) of a file under the repository's root.
pub fn schema_validator(path: &str) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(path),
        )
        .unwrap_or_else(|e| panic!("{path}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{path} does not compile: {e}"))
}

/// Prints a figure a test proves, and keeps it in `figures.txt` under the test's
/// `CARGO_TARGET_TMPDIR` (target/tmp) for the test command to show after the run (cargo
/// hides a passing test's output).
pub fn figure(target_tmpdir: &str, line: &str) {
    use std::io::Write;
    println!("{line}");
    let path = std::path::Path::new(target_tmpdir).join("figures.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write of the whole line: tests of other processes append at the same time.
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// Every header, by lower-case name.
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Value,
}

#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Reply {
    /// A header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
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
        self.send_with(method, path, token, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
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
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
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
        openapi::check(method, path, status, &content_type, &body);
        Reply {
            status,
            content_type,
            headers,
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
    local_gateway_with(titolare_domain::steps::Rules::default()).await
}

/// A gateway whose transfers follow `rules` (the policies).
pub async fn local_gateway_with(rules: titolare_domain::steps::Rules) -> LocalGateway {
    start(rules, None, None).await
}

/// A gateway with other limits on codes and sends.
pub async fn local_gateway_with_codes(codes: titolare_domain::otp::CodePolicy) -> LocalGateway {
    start_with(
        Default::default(),
        codes,
        None,
        None,
        titolare_local::platform::Mode::Auto,
    )
    .await
}

/// A gateway whose clock stands still at the present second and moves only when the test
/// advances it (`POST /dev/clock`), so a deadline can be hit to the second.
pub async fn local_gateway_frozen() -> LocalGateway {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    local_gateway_frozen_on(None, now).await
}

/// A gateway over another store (or its own embedded file) whose clock stands at
/// `at_seconds` (epoch) until advanced, and whose mail platform's commands wait for an
/// adapter (no background acknowledgements: the fault test counts every write).
pub async fn local_gateway_frozen_on(
    backend: Option<std::sync::Arc<dyn titolare_store::ItemBackend>>,
    at_seconds: i64,
) -> LocalGateway {
    start_with(
        Default::default(),
        Default::default(),
        backend,
        Some(at_seconds),
        titolare_local::platform::Mode::External,
    )
    .await
}

/// A gateway whose mail platform's commands wait for an adapter (`TITOLARE_PLATFORM=external`).
pub async fn local_gateway_with_external_platform() -> LocalGateway {
    start_with(
        Default::default(),
        Default::default(),
        None,
        None,
        titolare_local::platform::Mode::External,
    )
    .await
}

/// A gateway over another store (DynamoDB Local, or moto for the smoke flow).
pub async fn local_gateway_on(
    backend: std::sync::Arc<dyn titolare_store::ItemBackend>,
    rules: titolare_domain::steps::Rules,
) -> LocalGateway {
    start(rules, Some(backend), None).await
}

async fn start(
    rules: titolare_domain::steps::Rules,
    backend: Option<std::sync::Arc<dyn titolare_store::ItemBackend>>,
    frozen_clock_at: Option<i64>,
) -> LocalGateway {
    start_with(
        rules,
        Default::default(),
        backend,
        frozen_clock_at,
        titolare_local::platform::Mode::Auto,
    )
    .await
}

async fn start_with(
    rules: titolare_domain::steps::Rules,
    codes: titolare_domain::otp::CodePolicy,
    backend: Option<std::sync::Arc<dyn titolare_store::ItemBackend>>,
    frozen_clock_at: Option<i64>,
    platform: titolare_local::platform::Mode,
) -> LocalGateway {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let data_dir = std::env::temp_dir().join(format!(
        "titolare-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    // A process id comes back (a test is a process under nextest): clear what an earlier
    // process of the same id left, or the gateway would open its data.
    let _ = std::fs::remove_dir_all(&data_dir);
    let server = titolare_local::serve(titolare_local::Config {
        rules,
        codes,
        backend,
        frozen_clock_at,
        platform,
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

/// The local gateway as a [`flow::Surface`]: calls over HTTP, messages from `/dev/outbox`.
pub struct GatewaySurface {
    pub client: HttpClient,
    seen: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl GatewaySurface {
    pub fn new(client: HttpClient) -> Self {
        Self {
            client,
            seen: Default::default(),
        }
    }

    /// The local outbox once nothing queued is left to send.
    async fn outbox(&self) -> Vec<Value> {
        let reply = self
            .client
            .send("GET", "/dev/outbox?settled", None, None)
            .await;
        reply.body.as_array().cloned().unwrap_or_default()
    }

    /// The newest message on `channel` to `to` whose text contains `needle`, waiting for it.
    async fn find(&self, channel: &str, to: &str, needle: &str) -> Value {
        for _ in 0..400 {
            if let Some(m) = self.outbox().await.into_iter().find(|m| {
                m["channel"] == channel
                    && m["to"] == to
                    && m["text"].as_str().unwrap_or_default().contains(needle)
            }) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {channel} to {to} containing {needle:?} reached the local outbox")
    }
}

/// The value of `token=` after `marker` in a text.
fn token_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).expect("the link") + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect()
}

impl GatewaySurface {
    /// A call with extra headers (an `Idempotency-Key`, say).
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        who: flow::As<'_>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = body.map(|b| b.to_string());
        let mut all = headers.to_vec();
        let token = match who {
            flow::As::Account(user) => Some(self.client.login(user).await),
            flow::As::Link(token) => Some(token.to_owned()),
            flow::As::AccountWithLink(user, link) => {
                all.push(("x-link-token", link));
                Some(self.client.login(user).await)
            }
            flow::As::Nobody => None,
        };
        self.client
            .send_with(method, path, token.as_deref(), body.as_deref(), &all)
            .await
    }
}

#[async_trait::async_trait]
impl flow::Surface for GatewaySurface {
    async fn call(
        &self,
        method: &str,
        path: &str,
        who: flow::As<'_>,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(method, path, who, body, &[]).await
    }

    async fn code(&self, _transfer: &str, _party: &str, channel: &str, to: &str) -> String {
        let key = format!("{channel} {to}");
        for _ in 0..400 {
            let sent: Vec<Value> = self
                .outbox()
                .await
                .into_iter()
                .filter(|m| m["channel"] == channel && m["to"] == to)
                // Every SMS carries a code; an email does when its subject says so.
                .filter(|m| {
                    m["channel"] == "sms"
                        || m["subject"]
                            .as_str()
                            .is_some_and(|s| s.ends_with("codice di verifica"))
                })
                .collect();
            let fresh = {
                let mut seen = self.seen.lock().unwrap();
                let before = seen.get(&key).copied().unwrap_or(0);
                let fresh = sent.len() > before;
                if fresh {
                    seen.insert(key.clone(), sent.len());
                }
                fresh
            };
            if fresh {
                let text = sent[0]["text"].as_str().unwrap();
                return text
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .expect("a six-digit code")
                    .to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no new {channel} code to {to}")
    }

    async fn link(&self, transfer: &str, _party: &str, to: &str) -> String {
        let needle = format!("gestisci#token={transfer}.");
        let m = self.find("email", to, &needle).await;
        token_after(m["text"].as_str().unwrap(), "gestisci#token=")
    }

    async fn reset_token(&self, account: &str, mailbox: &str, to: &str) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let prefix = format!(
            "password#token={}.{}.",
            b64.encode(account),
            b64.encode(mailbox)
        );
        let m = self.find("email", to, &prefix).await;
        let text = m["text"].as_str().unwrap();
        let start = text.find(&prefix).unwrap() + "password#token=".len();
        token_after(&text[start - 1..], "=")
    }

    async fn emails_to(&self, to: &str) -> Vec<Value> {
        self.outbox()
            .await
            .into_iter()
            .filter(|m| m["channel"] == "email" && m["to"] == to)
            .collect()
    }

    async fn advance(&self, seconds: i64) {
        let reply = self
            .client
            .send(
                "POST",
                "/dev/clock",
                None,
                Some(&format!(r#"{{"advance_seconds":{seconds}}}"#)),
            )
            .await;
        assert_eq!(reply.status, 200, "clock: {}", reply.body);
    }
}
