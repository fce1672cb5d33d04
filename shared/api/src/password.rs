//! `POST /v1/password-reset`: the new holder of a moved mailbox sets its password through
//! the emailed link. Single use: the reset must still be pending with the link's issue time.

use crate::context::{Caller, Services};
use crate::idempotency::{Idem, refused_unless_replayed, replayed};
use crate::input::{json_body, query_params};
use crate::problem::ApiError;
use crate::reply::json;
use argon2::password_hash::{PasswordHasher, SaltString};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use titolare_domain::FieldErrors;
use titolare_domain::ports::{
    IdempotencyScope, ItemState, MailboxUpdate, StoreError, TransferCommit, TransferCondition,
};
use titolare_domain::records::Mailbox;
use titolare_domain::reset::{LinkEmail, LinkError, reissued};
use titolare_domain::transfer::{ItemKind, ItemRef, PasswordResetToken, ResetTokenError};
use titolare_domain::values::EmailAddress;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reset {
    token: String,
    password: String,
}

/// An argon2id hash (the crate's defaults: OWASP's m=19 MiB, t=2, p=1) with a random salt.
fn hash(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Unavailable(e.to_string()).into())
}

pub(crate) async fn reset(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let body: Reset = json_body(req)?;
    let now = s.clock.now();
    let token = PasswordResetToken::verify(s.key()?, &body.token, now).map_err(|e| match e {
        ResetTokenError::Invalid => ApiError::InvalidResetLink,
        ResetTokenError::Expired => ApiError::ExpiredResetLink,
    })?;
    let idem = Idem::of(
        req,
        IdempotencyScope::Mailbox(token.mailbox.clone()),
        s.key.as_ref(),
    )?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    titolare_domain::reset::check_password(&body.password, token.mailbox.as_str())
        .map_err(|e| ApiError::Validation(FieldErrors::one("password", e.to_string())))?;
    let item = ItemRef::parse(ItemKind::Mailbox, token.mailbox.as_str())
        .map_err(|_| ApiError::InvalidResetLink)?;
    let password_hash = hash(&body.password)?;
    // The mailbox and the transfer that moved it, written together: the transfer may change
    // under us (the platform acknowledging its commands), so a conflict reads both again.
    let mut attempts = 0;
    let address = loop {
        attempts += 1;
        let Some(Some(ItemState::Mailbox(mailbox))) = s
            .store
            .items(&token.account, std::slice::from_ref(&item))
            .await?
            .pop()
        else {
            return Err(ApiError::InvalidResetLink);
        };
        match LinkState::of(&mailbox.value, &token, false) {
            LinkState::Valid => {}
            // Perhaps by this very call's twin, with the same key, a moment ago.
            LinkState::Used => {
                return refused_unless_replayed(
                    idem.as_ref(),
                    &*s.store,
                    ApiError::from(LinkError::Used),
                )
                .await;
            }
            refused => return Err(refused.refusal()),
        }
        let mut after = mailbox.value.clone();
        after.password_hash = Some(password_hash.clone());
        after.password_reset_required = false;
        after.password_reset_issued_at = None;
        let answer = PasswordSet {
            mailbox: &after.address,
            password_reset_required: false,
        };
        let record = idem
            .as_ref()
            .map(|i| i.record(StatusCode::OK, &answer, now));
        // The platform gets the password as a command of the transfer that moved the
        // mailbox, written with it (docs/platform.md).
        let transfer = s
            .store
            .transfer(&token.transfer)
            .await?
            .ok_or(ApiError::Conflict(crate::problem::seldom::TRANSFER_GONE))?;
        let moved = titolare_domain::commands::with_password(
            &transfer.value,
            after.address.as_str(),
            &password_hash,
            now,
        )
        .ok_or(LinkError::EarlierChange)?;
        let mut commit = TransferCommit::new(
            TransferCondition::UnchangedPastDeadline(transfer.version),
            &moved,
        );
        commit.mailbox = Some(MailboxUpdate {
            account: token.account.clone(),
            before: mailbox.version,
            after: after.clone(),
        });
        commit.idempotent = record;
        match s.store.commit(&commit).await {
            Ok(()) => break after.address,
            Err(StoreError::Conflict) if attempts < 4 => continue,
            Err(StoreError::Conflict) => {
                return refused_unless_replayed(
                    idem.as_ref(),
                    &*s.store,
                    ApiError::from(LinkError::Used),
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let answer = PasswordSet {
        mailbox: &address,
        password_reset_required: false,
    };
    tracing::info!(request_id = %caller.request_id, "mailbox password set after a change of holder");
    Ok(json(StatusCode::OK, &answer))
}

type Answer = Result<Response<Body>, ApiError>;

/// What a reset link can still do, as the mailbox now stands: checked in this order by the
/// reset itself and told to its page when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum LinkState {
    Valid,
    /// A link of an earlier change of holder of the mailbox.
    EarlierChange,
    /// The password was set with it (or a later link).
    Used,
    /// A newer link was sent.
    Replaced,
    /// Past its 24 hours: a new one may be asked for with it.
    Lapsed,
}

impl LinkState {
    fn of(mailbox: &Mailbox, token: &PasswordResetToken, lapsed: bool) -> Self {
        if mailbox.moved_by.as_ref() != Some(&token.transfer) {
            Self::EarlierChange
        } else if !mailbox.password_reset_required {
            Self::Used
        } else if mailbox.password_reset_issued_at != Some(token.issued_at) {
            Self::Replaced
        } else if lapsed {
            Self::Lapsed
        } else {
            Self::Valid
        }
    }

    /// The answer a reset with a link in this state gets.
    fn refusal(self) -> ApiError {
        match self {
            Self::EarlierChange => LinkError::EarlierChange.into(),
            Self::Used => LinkError::Used.into(),
            Self::Replaced => LinkError::Replaced.into(),
            Self::Lapsed => ApiError::ExpiredResetLink,
            // Not a refusal; never asked for.
            Self::Valid => ApiError::InvalidResetLink,
        }
    }
}

#[derive(Serialize)]
struct LinkCheck<'a> {
    mailbox: &'a EmailAddress,
    state: LinkState,
    valid_until: jiff::Timestamp,
    /// What the page says when the link cannot set the password (the reset's own words).
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// What a new password must be, as the page lists it before anyone types.
    rules: [&'static str; 3],
}

/// `POST /v1/password-reset/check`: what a reset link can still do, read when its page
/// opens, so that the page names the mailbox at once and shows the form only to a link that
/// works (docs/rules.md, "Password links"). Reads only; a forged link gets 401.
pub(crate) async fn check(s: &Services, _caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let body: LinkAgain = json_body(req)?;
    let key = s.key()?;
    let token =
        PasswordResetToken::authentic(key, &body.token).map_err(|_| ApiError::InvalidResetLink)?;
    let lapsed = PasswordResetToken::verify(key, &body.token, s.clock.now()).is_err();
    let item = ItemRef::parse(ItemKind::Mailbox, token.mailbox.as_str())
        .map_err(|_| ApiError::InvalidResetLink)?;
    let Some(Some(ItemState::Mailbox(mailbox))) = s
        .store
        .items(&token.account, std::slice::from_ref(&item))
        .await?
        .pop()
    else {
        return Err(ApiError::InvalidResetLink);
    };
    let state = LinkState::of(&mailbox.value, &token, lapsed);
    let detail = (state != LinkState::Valid).then(|| state.refusal().detail());
    Ok(json(
        StatusCode::OK,
        &LinkCheck {
            mailbox: &token.mailbox,
            state,
            valid_until: token.issued_at + PasswordResetToken::VALIDITY,
            detail,
            rules: titolare_domain::reset::PasswordError::RULES,
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkAgain {
    /// A reset link received by email, lapsed or not.
    token: String,
}

/// `POST /v1/password-reset/link`: the new holder, holding a link (lapsed, say), asks for
/// a new one; it goes to the email they verified in the change, never to an address in the
/// request or on the holder's profile. A link from an earlier change of the mailbox asks
/// for nothing.
pub(crate) async fn link_by_token(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let body: LinkAgain = json_body(req)?;
    let token = PasswordResetToken::authentic(s.key()?, &body.token)
        .map_err(|_| ApiError::InvalidResetLink)?;
    let scope = IdempotencyScope::Mailbox(token.mailbox.clone());
    let idem = Idem::of(req, scope, s.key.as_ref())?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let from = Some(&token.transfer);
    send_link(
        s,
        caller,
        &token.account,
        &token.mailbox,
        from,
        idem.as_ref(),
    )
    .await
}

/// `POST /v1/mailboxes/{address}/password-reset-link`: the account that holds the mailbox
/// has a new link sent to the address its holder verified in the change (never one the
/// account could set).
pub(crate) async fn link_by_account(
    s: &Services,
    caller: &Caller,
    address: &str,
    req: &Request,
) -> Answer {
    let account = caller.account()?.clone();
    query_params(req, &[])?;
    crate::input::no_body(req)?;
    let mailbox = titolare_domain::values::EmailAddress::parse(address)
        .map_err(|_| ApiError::NotFound("Casella non trovata."))?;
    let idem = Idem::of(req, IdempotencyScope::Account(account.clone()), None)?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    send_link(s, caller, &account, &mailbox, None, idem.as_ref()).await
}

/// Issues a new link of `address`'s pending reset, when `from` (the change a token came
/// from) is the one that started it, and queues its email to the verified address.
async fn send_link(
    s: &Services,
    caller: &Caller,
    account: &titolare_domain::AccountId,
    address: &titolare_domain::values::EmailAddress,
    from: Option<&titolare_domain::transfer::TransferId>,
    idem: Option<&Idem>,
) -> Answer {
    let now = s.clock.now();
    let item = ItemRef::parse(ItemKind::Mailbox, address.as_str())
        .map_err(|_| ApiError::NotFound("Casella non trovata."))?;
    let Some(Some(ItemState::Mailbox(mailbox))) = s.store.items(account, &[item]).await?.pop()
    else {
        return Err(ApiError::NotFound("Casella non trovata."));
    };
    if from.is_some_and(|t| mailbox.value.moved_by.as_ref() != Some(t)) {
        return Err(LinkError::EarlierChange.into());
    }
    let after = match reissued(&mailbox.value, now, &s.codes) {
        Ok(after) => after,
        // A twin call with the same key may have just sent it: its answer is this one's.
        Err(refused) => return refused_unless_replayed(idem, &*s.store, refused.into()).await,
    };
    let email = LinkEmail {
        account,
        mailbox: &after,
        expires_at: now + s.rules.retention,
    };
    let message = email.message(now)?;
    let sent_to = titolare_domain::outbox::mask(message.to.as_deref().unwrap_or_default());
    let valid_until = after.password_reset_issued_at.unwrap_or(now) + PasswordResetToken::VALIDITY;
    let answer = LinkSent {
        mailbox: &after.address,
        sent_to,
        valid_until,
        links_left: s.codes.max_sends.saturating_sub(after.password_reset_links),
    };
    let record = idem.map(|i| i.record(StatusCode::ACCEPTED, &answer, now));
    match s
        .store
        .update_mailbox(account, mailbox.version, &after, Some(&message), record)
        .await
    {
        Ok(()) => {}
        // Another request for a link won the race: this one would be the second in a minute.
        Err(StoreError::Conflict) => {
            let too_soon = LinkError::TooSoon(s.codes.resend_after.as_secs());
            return refused_unless_replayed(idem, &*s.store, too_soon.into()).await;
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(request_id = %caller.request_id, links = after.password_reset_links, "new password-reset link queued");
    Ok(json(StatusCode::ACCEPTED, &answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_salted() {
        let (a, b) = (
            hash("Nuova-Password-7").unwrap(),
            hash("Nuova-Password-7").unwrap(),
        );
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
    }
}

/// `PasswordSet` of the OpenAPI file: the password is set, the reset done.
#[derive(Serialize)]
struct PasswordSet<'a> {
    mailbox: &'a EmailAddress,
    password_reset_required: bool,
}

/// `LinkSent`: a new link is on its way to the verified email.
#[derive(Serialize)]
struct LinkSent<'a> {
    mailbox: &'a EmailAddress,
    sent_to: String,
    valid_until: jiff::Timestamp,
    links_left: u32,
}
