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

/// Who is calling and from where, as API Gateway tells it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Option<AccountId>,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
}

impl Caller {
    fn of(req: &Request) -> Self {
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
            source_ip: ctx
                .and_then(|c| c.http.source_ip.clone())
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

/// The JWT claim that holds the account id.
pub const ACCOUNT_CLAIM: &str = "sub";

pub struct App {
    services: Services,
    routes: Vec<&'static Route>,
}

impl App {
    /// Every route (the local gateway).
    pub fn new(services: Services) -> Self {
        Self {
            services,
            routes: routes::ROUTES.iter().collect(),
        }
    }

    /// The routes of one Lambda function, as its `main.rs` names them.
    pub fn with_routes(services: Services, routes: &'static [Route]) -> Self {
        Self {
            services,
            routes: routes.iter().collect(),
        }
    }

    pub fn routes(&self) -> &[&'static Route] {
        &self.routes
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let caller = Caller::of(&req);
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
