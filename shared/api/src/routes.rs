//! The route table: the one source of truth the router, the Lambda functions, the OpenAPI
//! file and template.yaml are held to.

use crate::handlers::{self, Handler};
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
    /// The provider's support: an account user (the JWT authorizer) in the operators' group
    /// (`Caller::operator`, checked by every such handler).
    Operator,
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub id: RouteId,
    pub method: &'static str,
    /// OpenAPI / API Gateway form: `{name}` stands for one path segment.
    pub path: &'static str,
    /// The Lambda function (crate under functions/) serving it.
    pub function: &'static str,
    pub auth: Auth,
    pub handler: Handler,
}

/// Routes are one each: the same id is the same route.
impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Route {}

/// One constant per route, which a Lambda function's `main.rs` names (so its binary links
/// that route's handler and no other), and `ROUTES`, all of them (the local gateway).
macro_rules! routes {
    ($($name:ident = $id:ident, $method:ident $path:literal => $function:literal, $handler:ident, $auth:ident;)*) => {
        /// Every route, by name: the table below is its only list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RouteId {
            $($id),*
        }

        $(
            pub const $name: Route = Route {
                id: RouteId::$id,
                method: stringify!($method),
                path: $path,
                function: $function,
                auth: Auth::$auth,
                handler: handlers::$handler,
            };
        )*
        pub const ROUTES: &[Route] = &[$($name),*];
    };
}

routes! {
    HOLDERS_SEARCH = HoldersSearch, GET "/v1/holders" => "holders-search", holders_search, Account;
    HOLDERS_CREATE = HoldersCreate, POST "/v1/holders" => "holders-create", holders_create, Account;
    HOLDERS_GET = HoldersGet, GET "/v1/holders/{id}" => "holders-get", holders_get, Account;
    HOLDERS_UPDATE = HoldersUpdate, PATCH "/v1/holders/{id}" => "holders-update", holders_update, Account;
    MAILBOXES_LIST = MailboxesList, GET "/v1/mailboxes" => "mailboxes-list", mailboxes_list, Account;
    MAILBOXES_GET = MailboxesGet, GET "/v1/mailboxes/{address}" => "mailboxes-get", mailboxes_get, Account;
    DOMAINS_LIST = DomainsList, GET "/v1/domains" => "domains-list", domains_list, Account;
    DOMAINS_GET = DomainsGet, GET "/v1/domains/{name}" => "domains-get", domains_get, Account;
    OPERATIONS_LIST = OperationsList, GET "/v1/operations" => "operations-list", operations_list, Account;
    ACCOUNT_GET = AccountGet, GET "/v1/account" => "account-get", account_get, Account;
    TRANSFER_CODES_SEND = TransferCodesSend, POST "/v1/transfers/{id}/codes" => "transfer-codes-send", transfer_codes_send, Account;
    TRANSFER_CODES_VERIFY = TransferCodesVerify, POST "/v1/transfers/{id}/codes/verify" => "transfer-codes-verify", transfer_codes_verify, Account;
    PARTY_CODES_SEND = PartyCodesSend, POST "/v1/party/codes" => "party-codes-send", party_codes_send, LinkToken;
    PARTY_CODES_VERIFY = PartyCodesVerify, POST "/v1/party/codes/verify" => "party-codes-verify", party_codes_verify, LinkToken;
    TRANSFER_CODES_STATUS = TransferCodesStatus, GET "/v1/transfers/{id}/codes" => "transfer-codes-status", transfer_codes_status, Account;
    PARTY_CODES_STATUS = PartyCodesStatus, GET "/v1/party/codes" => "party-codes-status", party_codes_status, LinkToken;
    TRANSFERS_LIST = TransfersList, GET "/v1/transfers" => "transfers-read", transfers_list, Account;
    TRANSFERS_GET = TransfersGet, GET "/v1/transfers/{id}" => "transfers-read", transfers_get, Account;
    TRANSFERS_CREATE = TransfersCreate, POST "/v1/transfers" => "transfers-write", transfers_create, Account;
    MANAGEMENT_CHECK = ManagementCheck, POST "/v1/management/check" => "transfers-write", management_check, Account;
    TRANSFERS_CANCEL = TransfersCancel, POST "/v1/transfers/{id}/cancel" => "transfers-write", transfers_cancel, Account;
    TRANSFER_INVITATIONS = TransferInvitations, POST "/v1/transfers/{id}/invitations" => "transfers-write", transfer_invitations, Account;
    TRANSFER_CONTACTS = TransferContacts, PATCH "/v1/transfers/{id}/contacts" => "transfers-write", transfer_contacts, Account;
    PARTY_GET = PartyGet, GET "/v1/party" => "party-read", party_get, LinkToken;
    PARTY_DECISIONS = PartyDecisions, POST "/v1/party/decisions" => "party-steps", party_decisions, LinkToken;
    PARTY_HOLDER_DATA = PartyHolderData, PUT "/v1/party/holder-data" => "party-steps", party_holder_data, LinkToken;
    PARTY_CONTRACT = PartyContract, POST "/v1/party/contract" => "party-steps", party_contract, LinkToken;
    PARTY_STOP = PartyStop, POST "/v1/party/stop" => "party-steps", party_stop, Token;
    // The new holder's login as the named account (hand_over): the JWT authorizer checks the
    // login, the link token travels in X-Link-Token.
    PARTY_LOGIN = PartyLogin, POST "/v1/party/login" => "party-login", party_login, Account;
    PASSWORD_RESET = PasswordReset, POST "/v1/password-reset" => "password-reset", password_reset, Token;
    PASSWORD_RESET_LINK = PasswordResetLink, POST "/v1/password-reset/link" => "password-reset", password_reset_link, Token;
    PASSWORD_RESET_CHECK = PasswordResetCheck, POST "/v1/password-reset/check" => "password-reset", password_reset_check, Token;
    MAILBOX_RESET_LINK = MailboxResetLink, POST "/v1/mailboxes/{address}/password-reset-link" => "password-reset", mailbox_reset_link, Account;
    SUPPORT_SEARCH = SupportSearch, GET "/v1/support/transfers" => "support", support_search, Operator;
    SUPPORT_GET = SupportGet, GET "/v1/support/transfers/{id}" => "support", support_get, Operator;
    SUPPORT_INVITATIONS = SupportInvitations, POST "/v1/support/transfers/{id}/invitations" => "support", support_invitations, Operator;
    SUPPORT_CODES = SupportCodes, POST "/v1/support/transfers/{id}/codes" => "support", support_codes, Operator;
    SUPPORT_CANCEL = SupportCancel, POST "/v1/support/transfers/{id}/cancel" => "support", support_cancel, Operator;
    SUPPORT_UNBLOCK = SupportUnblock, POST "/v1/support/transfers/{id}/unblock" => "support", support_unblock, Operator;
}

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
                | RouteId::PartyStop
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
            let value = crate::input::percent_decode(segment)?;
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

    /// A function's `main.rs` names the constants of its routes, all and no other (its
    /// binary links their handlers only), and reads the secret key exactly when they need it.
    #[test]
    fn every_function_names_its_own_routes() {
        let constant = |id: RouteId| {
            let name = format!("{id:?}");
            let mut out = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        };
        let functions: std::collections::BTreeSet<&str> =
            ROUTES.iter().map(|r| r.function).collect();
        for function in functions {
            let main = format!(
                "{}/../../functions/{function}/src/main.rs",
                env!("CARGO_MANIFEST_DIR"),
            );
            let text =
                std::fs::read_to_string(&main).unwrap_or_else(|_| panic!("{main} is missing"));
            let named: std::collections::BTreeSet<String> = text
                .split("routes::")
                .skip(1)
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect()
                })
                .collect();
            let own = of_function(function);
            let expected = own.iter().map(|r| constant(r.id)).collect();
            assert_eq!(named, expected, "{main}");
            let secret = own.iter().any(|r| r.needs_secret());
            assert_eq!(
                text.contains("run_http_function_with_secret("),
                secret,
                "{main}: reads the secret key iff its routes need it"
            );
        }
    }
}
