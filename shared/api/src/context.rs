//! Who is calling and with what: the services a process builds once, and the caller as API
//! Gateway (and CloudFront, in front of it) tells it.

use crate::problem::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::sync::Arc;
use titolare_domain::AccountId;
use titolare_domain::metrics::Metrics;
use titolare_domain::otp::CodePolicy;
use titolare_domain::ports::{Clock, Store};
use titolare_domain::secret::SecretKey;
use titolare_domain::steps::Rules;

/// What the handlers work with, built once per process.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Derives one-time codes and link tokens; only functions whose routes need it load it
    /// (see `Route::needs_secret` in `routes.rs`).
    pub key: Option<SecretKey>,
    pub codes: CodePolicy,
    pub rules: Rules,
    /// What an operator watches (see `titolare_domain::metrics`).
    pub metrics: Arc<dyn Metrics>,
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
    pub(crate) fn of(req: &Request, via_edge: bool) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

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
