//! Titolare's HTTP surface. Handlers take a `lambda_http::Request`, so the Lambda
//! functions and the local gateway run the very same code.

mod codes;
pub mod config;
mod handlers;
mod idempotency;
pub mod input;
pub mod lifecycle;
mod password;
pub mod problem;
pub mod routes;
mod wizard;
pub use wizard::step_error as wizard_error;

use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use problem::ApiError;
use routes::{Match, Route};
use serde::Serialize;
use std::sync::Arc;
use titolare_domain::AccountId;
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::otp::CodePolicy;
use titolare_domain::ports::{Clock, Store};
use titolare_domain::secret::SecretKey;
use titolare_domain::wizard::Rules;

/// What the handlers work with, built once per process.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Derives one-time codes and link tokens; only functions whose routes need it load it
    /// (see [`routes::Route::needs_secret`]).
    pub key: Option<SecretKey>,
    pub codes: CodePolicy,
    pub rules: Rules,
    /// What an operator watches (see `titolare_domain::metrics`).
    pub metrics: Arc<dyn Metrics>,
}

/// The header CloudFront adds to every call it sends to the API, with the stack's secret
/// (docs/security.md, "Floods from one address").
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";
/// Where CloudFront tells the viewer's address and port ("198.51.100.10:46532").
const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// Who is calling and from where, as API Gateway tells it (and CloudFront, in front of it).
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Option<AccountId>,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
}

impl Caller {
    /// `via_edge`: the call carried CloudFront's secret, so CloudFront's own headers are
    /// CloudFront's, and API Gateway's source address is an edge's, not the person's.
    fn of(req: &Request, via_edge: bool) -> Self {
        let ctx = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => Some(ctx),
            _ => None,
        };
        let account = ctx
            .and_then(|c| c.authorizer.as_ref())
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get(ACCOUNT_CLAIM))
            .and_then(|sub| AccountId::parse(sub).ok());
        Self {
            account,
            request_id: ctx
                .and_then(|c| c.request_id.clone())
                .unwrap_or_else(|| "-".into()),
            source_ip: via_edge
                .then(|| viewer_address(req))
                .flatten()
                .or_else(|| ctx.and_then(|c| c.http.source_ip.clone()))
                .unwrap_or_default(),
            user_agent: ctx
                .and_then(|c| c.http.user_agent.clone())
                .unwrap_or_default(),
        }
    }

    pub fn account(&self) -> Result<&AccountId, ApiError> {
        self.account.as_ref().ok_or(ApiError::Unauthorized)
    }
}

/// The viewer's address from `CloudFront-Viewer-Address` (IPv4 or IPv6, then ":port").
fn viewer_address(req: &Request) -> Option<String> {
    let value = req.headers().get(VIEWER_ADDRESS_HEADER)?.to_str().ok()?;
    let (address, _port) = value.rsplit_once(':')?;
    let address = address.trim_start_matches('[').trim_end_matches(']');
    address
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

/// The JWT claim that holds the account id.
pub const ACCOUNT_CLAIM: &str = "sub";

pub struct App {
    services: Services,
    routes: Vec<&'static Route>,
    /// CloudFront's secret, in AWS: a call without it did not come through the web ACL.
    origin_secret: Option<Vec<u8>>,
}

impl App {
    /// Every route (the local gateway).
    pub fn new(services: Services) -> Self {
        Self {
            services,
            routes: routes::ROUTES.iter().collect(),
            origin_secret: None,
        }
    }

    /// The routes of one Lambda function, as its `main.rs` names them.
    pub fn with_routes(services: Services, routes: &'static [Route]) -> Self {
        Self {
            services,
            routes: routes.iter().collect(),
            origin_secret: None,
        }
    }

    /// Serves only calls that carry CloudFront's `secret` in [`ORIGIN_VERIFY_HEADER`], and
    /// takes the caller's address from CloudFront's viewer header.
    pub fn behind_cloudfront(mut self, secret: &str) -> Self {
        self.origin_secret = Some(secret.as_bytes().to_vec());
        self
    }

    pub fn routes(&self) -> &[&'static Route] {
        &self.routes
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let via_edge = match &self.origin_secret {
            None => false,
            Some(secret) => {
                use subtle::ConstantTimeEq;
                let given = req
                    .headers()
                    .get(ORIGIN_VERIFY_HEADER)
                    .map(|v| v.as_bytes())
                    .unwrap_or_default();
                if !bool::from(given.ct_eq(secret.as_slice())) {
                    let caller = Caller::of(&req, false);
                    tracing::warn!(request_id = %caller.request_id, "call without the edge's secret");
                    return ApiError::NotThroughEdge.into_response(&caller.request_id);
                }
                true
            }
        };
        let caller = Caller::of(&req, via_edge);
        let started = std::time::Instant::now();
        let path = strip_stage(&req);
        let (route_name, response) = match routes::find(&self.routes, req.method().as_str(), &path)
        {
            Match::Found(route, params) => (
                route.path,
                match (route.handler)(&self.services, &params, &caller, &req).await {
                    Ok(response) => response,
                    Err(e) => e.into_response(&caller.request_id),
                },
            ),
            Match::MethodNotAllowed(allowed) => (
                "-",
                ApiError::MethodNotAllowed(allowed).into_response(&caller.request_id),
            ),
            Match::NotFound => (
                "-",
                ApiError::NotFound("Percorso non trovato.").into_response(&caller.request_id),
            ),
        };
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            self.services
                .metrics
                .record(Metric::LimitRefused { route: route_name });
        }
        // The path may hold a mailbox address: log the route template, never the path.
        tracing::info!(
            request_id = %caller.request_id,
            method = %req.method(),
            route = route_name,
            account = caller.account.as_ref().map(AccountId::as_str).unwrap_or("-"),
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
        response
    }
}

/// API Gateway puts a named stage in front of the path; routes do not have it.
fn strip_stage(req: &Request) -> String {
    let path = req.uri().path();
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(stage) = ctx.stage.as_deref().filter(|s| *s != "$default")
        && let Some(rest) = path.strip_prefix(&format!("/{stage}/"))
    {
        return format!("/{rest}");
    }
    path.to_owned()
}

impl Services {
    pub(crate) fn key(&self) -> Result<&SecretKey, ApiError> {
        self.key.as_ref().ok_or_else(|| {
            ApiError::Store(titolare_domain::ports::StoreError::Unavailable(
                "no secret key in this function".into(),
            ))
        })
    }
}

pub(crate) fn respond<T: Serialize + ?Sized>(
    status: StatusCode,
    content_type: &str,
    body: &T,
) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(json))
        .unwrap_or_default()
}

pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    respond(status, "application/json", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_viewer(value: &str) -> Request {
        http::Request::builder()
            .header(VIEWER_ADDRESS_HEADER, value)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn the_viewer_address_is_read_without_its_port() {
        for (header, address) in [
            ("198.51.100.10:46532", Some("198.51.100.10")),
            ("2001:db8::7:46532", Some("2001:db8::7")),
            ("[2001:db8::7]:443", Some("2001:db8::7")),
            ("198.51.100.10", None),
            ("not-an-address:1", None),
        ] {
            assert_eq!(
                viewer_address(&with_viewer(header)).as_deref(),
                address,
                "{header}"
            );
        }
    }
}
