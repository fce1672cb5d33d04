//! Who may act on a request: the initiator's account, a holder's link; and what a call
//! records of its caller.

use crate::context::{Caller, Services};
use crate::problem::ApiError;
use lambda_http::Request;
use titolare_domain::otp::Party;
use titolare_domain::ports::*;
use titolare_domain::transfer::*;

pub(crate) fn actor(caller: &Caller) -> Actor {
    let actor = Actor::new(&caller.request_id, &caller.source_ip, &caller.user_agent);
    match &caller.support {
        Some(support) => actor.supporting(support.clone()),
        None => actor,
    }
}

/// The initiator's request, if it is the caller account's.
pub async fn initiator_transfer(
    s: &Services,
    caller: &Caller,
    id: &str,
) -> Result<(Versioned<Transfer>, Party), ApiError> {
    let account = caller.account()?;
    let id = TransferId::parse(id).map_err(|_| ApiError::NotFound("Richiesta non trovata."))?;
    match s.store.transfer(&id).await? {
        Some(t) if t.value.account == *account => Ok((t, Party::Initiator)),
        _ => Err(ApiError::NotFound("Richiesta non trovata.")),
    }
}

/// The transfer and role a holder's link token names. A malformed token, a forged one and
/// one naming no request get the same 401.
pub async fn holder_transfer(
    s: &Services,
    req: &Request,
) -> Result<(Versioned<Transfer>, Party), ApiError> {
    let token = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::InvalidLink)?;
    transfer_of_token(s, token).await
}

pub async fn transfer_of_token(
    s: &Services,
    token: &str,
) -> Result<(Versioned<Transfer>, Party), ApiError> {
    let link = LinkToken::verify(s.key()?, token).ok_or(ApiError::InvalidLink)?;
    let transfer = s
        .store
        .transfer(&link.transfer)
        .await?
        .ok_or(ApiError::InvalidLink)?;
    // A correction of the holder's contact issued a newer link: only that one works.
    if link.generation != transfer.value.contact(link.party).link {
        return Err(ApiError::ReplacedLink);
    }
    Ok((transfer, link.party))
}

/// A draft's `hand_over` account, looked up by its username now that the initiator verifies:
/// left unset when no other account has it (the domain then refuses to open the draft).
pub(crate) async fn with_hand_over_resolved<'t>(
    s: &Services,
    t: &'t Transfer,
) -> Result<std::borrow::Cow<'t, Transfer>, ApiError> {
    let (
        TransferStatus::Draft,
        Management::HandOver {
            username,
            account: None,
        },
    ) = (t.status, &t.management)
    else {
        return Ok(std::borrow::Cow::Borrowed(t));
    };
    let found = s
        .store
        .account_by_username(username)
        .await?
        .map(|a| a.id)
        .filter(|id| *id != t.account);
    let mut resolved = t.clone();
    resolved.management = Management::HandOver {
        username: username.clone(),
        account: found,
    };
    Ok(std::borrow::Cow::Owned(resolved))
}
