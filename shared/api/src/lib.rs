//! Titolare's HTTP surface. Handlers take a `lambda_http::Request`, so the Lambda
//! functions and the local gateway run the very same code.

pub mod config;
mod context;
pub mod delivery;
pub mod events;
mod handlers;
mod holders;
mod idempotency;
pub mod input;
pub mod inventory;
pub mod lifecycle;
mod password;
pub mod platform;
pub mod problem;
mod reply;
pub mod routes;
mod transfers;
pub use context::{ACCOUNT_CLAIM, Caller, ORIGIN_VERIFY_HEADER, Services, operator_group};
pub use problem::step_error;

use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use problem::ApiError;
use routes::{Match, Route};
use titolare_domain::AccountId;
use titolare_domain::metrics::Metric;

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
