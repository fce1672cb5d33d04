//! The route table: the one source of truth the router, the Lambda functions, the OpenAPI
//! file and template.yaml are held to.

use std::collections::BTreeMap;

/// How a route's caller is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// An account user, through API Gateway's JWT authorizer.
    Account,
    /// A holder, through the link token emailed to them (no authorizer in API Gateway).
    LinkToken,
    /// Anyone holding a signed single-use token in the body (password reset).
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    HoldersSearch,
    HoldersCreate,
    HoldersGet,
    HoldersUpdate,
    MailboxesList,
    MailboxesGet,
    DomainsList,
    DomainsGet,
    OperationsList,
    AccountGet,
    TransferCodesSend,
    TransferCodesVerify,
    PartyCodesSend,
    PartyCodesVerify,
    TransferCodesStatus,
    PartyCodesStatus,
    TransfersList,
    TransfersCreate,
    TransfersGet,
    TransfersCancel,
    TransferInvitations,
    TransferContacts,
    PartyGet,
    PartyDecisions,
    PartyHolderData,
    PartyContract,
    PartyLogin,
    PasswordReset,
    PasswordResetLink,
    MailboxResetLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub id: RouteId,
    pub method: &'static str,
    /// OpenAPI / API Gateway form: `{name}` stands for one path segment.
    pub path: &'static str,
    /// The Lambda function (crate under functions/) serving it.
    pub function: &'static str,
    pub auth: Auth,
}

macro_rules! route {
    ($id:ident, $method:literal, $path:literal, $function:literal) => {
        route!($id, $method, $path, $function, Account)
    };
    ($id:ident, $method:literal, $path:literal, $function:literal, $auth:ident) => {
        Route {
            id: RouteId::$id,
            method: $method,
            path: $path,
            function: $function,
            auth: Auth::$auth,
        }
    };
}

pub const ROUTES: &[Route] = &[
    route!(HoldersSearch, "GET", "/v1/holders", "holders-search"),
    route!(HoldersCreate, "POST", "/v1/holders", "holders-create"),
    route!(HoldersGet, "GET", "/v1/holders/{id}", "holders-get"),
    route!(HoldersUpdate, "PATCH", "/v1/holders/{id}", "holders-update"),
    route!(MailboxesList, "GET", "/v1/mailboxes", "mailboxes-list"),
    route!(
        MailboxesGet,
        "GET",
        "/v1/mailboxes/{address}",
        "mailboxes-get"
    ),
    route!(DomainsList, "GET", "/v1/domains", "domains-list"),
    route!(DomainsGet, "GET", "/v1/domains/{name}", "domains-get"),
    route!(OperationsList, "GET", "/v1/operations", "operations-list"),
    route!(AccountGet, "GET", "/v1/account", "account-get"),
    route!(
        TransferCodesSend,
        "POST",
        "/v1/transfers/{id}/codes",
        "transfer-codes-send"
    ),
    route!(
        TransferCodesVerify,
        "POST",
        "/v1/transfers/{id}/codes/verify",
        "transfer-codes-verify"
    ),
    route!(
        PartyCodesSend,
        "POST",
        "/v1/party/codes",
        "party-codes-send",
        LinkToken
    ),
    route!(
        PartyCodesVerify,
        "POST",
        "/v1/party/codes/verify",
        "party-codes-verify",
        LinkToken
    ),
    route!(
        TransferCodesStatus,
        "GET",
        "/v1/transfers/{id}/codes",
        "transfer-codes-status"
    ),
    route!(
        PartyCodesStatus,
        "GET",
        "/v1/party/codes",
        "party-codes-status",
        LinkToken
    ),
    route!(TransfersList, "GET", "/v1/transfers", "transfers-read"),
    route!(TransfersGet, "GET", "/v1/transfers/{id}", "transfers-read"),
    route!(TransfersCreate, "POST", "/v1/transfers", "transfers-write"),
    route!(
        TransfersCancel,
        "POST",
        "/v1/transfers/{id}/cancel",
        "transfers-write"
    ),
    route!(
        TransferInvitations,
        "POST",
        "/v1/transfers/{id}/invitations",
        "transfers-write"
    ),
    route!(
        TransferContacts,
        "PATCH",
        "/v1/transfers/{id}/contacts",
        "transfers-write"
    ),
    route!(PartyGet, "GET", "/v1/party", "party-read", LinkToken),
    route!(
        PartyDecisions,
        "POST",
        "/v1/party/decisions",
        "party-steps",
        LinkToken
    ),
    route!(
        PartyHolderData,
        "PUT",
        "/v1/party/holder-data",
        "party-steps",
        LinkToken
    ),
    route!(
        PartyContract,
        "POST",
        "/v1/party/contract",
        "party-steps",
        LinkToken
    ),
    // The new holder's login as the named account (hand_over): the JWT authorizer checks the
    // login, the link token travels in X-Link-Token.
    route!(PartyLogin, "POST", "/v1/party/login", "party-login"),
    route!(
        PasswordReset,
        "POST",
        "/v1/password-reset",
        "password-reset",
        Token
    ),
    route!(
        PasswordResetLink,
        "POST",
        "/v1/password-reset/link",
        "password-reset",
        Token
    ),
    route!(
        MailboxResetLink,
        "POST",
        "/v1/mailboxes/{address}/password-reset-link",
        "password-reset"
    ),
];

impl Route {
    /// Whether the route derives codes or checks link tokens, so its function loads the secret key.
    pub fn needs_secret(&self) -> bool {
        matches!(
            self.id,
            RouteId::TransferCodesSend
                | RouteId::TransferCodesVerify
                | RouteId::PartyCodesSend
                | RouteId::PartyCodesVerify
                | RouteId::PartyCodesStatus
                | RouteId::PartyGet
                | RouteId::PartyDecisions
                | RouteId::PartyHolderData
                | RouteId::PartyContract
                | RouteId::PartyLogin
                | RouteId::PasswordReset
                | RouteId::PasswordResetLink
        )
    }
}

/// What the router made of a method and path.
#[derive(Debug, PartialEq)]
pub enum Match {
    Found(&'static Route, BTreeMap<&'static str, String>),
    /// The path exists with other methods.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// Matches among `routes`; path parameters are percent-decoded.
pub fn find(routes: &[&'static Route], method: &str, path: &str) -> Match {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut allowed = Vec::new();
    for route in routes {
        let Some(params) = match_path(route.path, &segments) else {
            continue;
        };
        if route.method.eq_ignore_ascii_case(method) {
            return Match::Found(route, params);
        }
        allowed.push(route.method);
    }
    if allowed.is_empty() {
        Match::NotFound
    } else {
        Match::MethodNotAllowed(allowed)
    }
}

fn match_path(template: &'static str, segments: &[&str]) -> Option<BTreeMap<&'static str, String>> {
    let parts: Vec<&'static str> = template.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (part, segment) in parts.iter().zip(segments) {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let value = percent_decode(segment)?;
            if value.is_empty() {
                return None;
            }
            params.insert(name, value);
        } else if part != segment {
            return None;
        }
    }
    Some(params)
}

pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The routes a Lambda function serves.
pub fn of_function(function: &str) -> Vec<&'static Route> {
    ROUTES.iter().filter(|r| r.function == function).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_methods_and_encoded_segments() {
        let all: Vec<_> = ROUTES.iter().collect();
        let Match::Found(route, params) = find(&all, "GET", "/v1/mailboxes/teste1234%40pec.it")
        else {
            panic!()
        };
        assert_eq!(route.id, RouteId::MailboxesGet);
        assert_eq!(params["address"], "teste1234@pec.it");
        assert!(
            matches!(find(&all, "PATCH", "/v1/holders/19/"), Match::Found(r, _) if r.id == RouteId::HoldersUpdate)
        );
        assert_eq!(
            find(&all, "DELETE", "/v1/holders/19"),
            Match::MethodNotAllowed(vec!["GET", "PATCH"])
        );
        assert_eq!(find(&all, "GET", "/v1/nothing"), Match::NotFound);
        assert_eq!(find(&all, "GET", "/v1/holders/%zz"), Match::NotFound);
        assert_eq!(find(&all, "GET", "/v1/holders/%FF"), Match::NotFound);
    }

    #[test]
    fn every_function_has_a_crate_and_routes() {
        for route in ROUTES {
            let main = format!(
                "{}/../../functions/{}/src/main.rs",
                env!("CARGO_MANIFEST_DIR"),
                route.function
            );
            let text =
                std::fs::read_to_string(&main).unwrap_or_else(|_| panic!("{main} is missing"));
            assert!(
                text.contains(&format!("\"{}\"", route.function)),
                "{main} serves another function"
            );
        }
    }
}
