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
    /// The identity provider's groups of the caller (`cognito:groups` or `groups`).
    pub groups: Vec<String>,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
    /// Set by a support route: the operator acting and why (every line written says so).
    pub support: Option<titolare_domain::transfer::Support>,
}

impl Caller {
    /// `via_edge`: the call carried CloudFront's secret, so CloudFront's own headers are
    /// CloudFront's, and API Gateway's source address is an edge's, not the person's.
    pub(crate) fn of(req: &Request, via_edge: bool) -> Self {
        let ctx = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => Some(ctx),
            _ => None,
        };
        let claims = ctx
            .and_then(|c| c.authorizer.as_ref())
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims);
        let account = claims
            .and_then(|claims| claims.get(ACCOUNT_CLAIM))
            .and_then(|sub| AccountId::parse(sub).ok());
        let groups = claims
            .and_then(|claims| GROUP_CLAIMS.iter().find_map(|name| claims.get(*name)))
            .map(|value| groups(value))
            .unwrap_or_default();
        Self {
            account,
            groups,
            support: None,
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

    /// The operator calling, if the caller is one of the provider's support (docs/rules.md,
    /// "Support"): logged in, and in the operators' group.
    pub fn operator(&self) -> Result<&AccountId, ApiError> {
        let account = self.account()?;
        if self.groups.iter().any(|g| g == operator_group()) {
            Ok(account)
        } else {
            Err(ApiError::NotOperator)
        }
    }

    /// The same caller acting as support, with `support`'s reason.
    pub fn supporting(&self, support: titolare_domain::transfer::Support) -> Self {
        Self {
            support: Some(support),
            ..self.clone()
        }
    }
}

/// The claims the identity provider names groups in: Cognito's, then the usual OIDC one.
const GROUP_CLAIMS: [&str; 2] = ["cognito:groups", "groups"];

/// The operators' group (`OPERATOR_GROUP`, default `titolare-operatori`).
pub fn operator_group() -> &'static str {
    static GROUP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    GROUP.get_or_init(|| {
        std::env::var("OPERATOR_GROUP")
            .ok()
            .filter(|g| !g.trim().is_empty())
            .unwrap_or_else(|| "titolare-operatori".into())
    })
}

/// A groups claim as API Gateway passes it: a JSON array, or its own "[a b]" form for an
/// array claim, or one group.
fn groups(value: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
        return list;
    }
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([' ', ','])
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
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
    fn groups_are_read_in_every_form_api_gateway_passes() {
        assert_eq!(groups(r#"["a","b"]"#), ["a", "b"]);
        assert_eq!(groups("[a b]"), ["a", "b"]);
        assert_eq!(groups("a"), ["a"]);
        assert!(groups("[]").is_empty());
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
