//! One-time codes over HTTP: the initiator's (account login) and the holders' (link token).

use super::access::*;
use super::commit::*;
use crate::context::{Caller, Services};
use crate::idempotency::{Idem, replayed};
use crate::input::{json_body, query_params};
use crate::lifecycle::Extra;
use crate::problem::ApiError;
use crate::reply::json;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use titolare_domain::otp::{Challenge, Channel, CodeError, Party};
use titolare_domain::outbox::{OutboxMessage, mask};
use titolare_domain::ports::{IdempotencyScope, QuotaWrite, Versioned};
use titolare_domain::quota::QuotaKey;
use titolare_domain::steps::{Action, number_change_notices};
use titolare_domain::transfer::{Step, Transfer, TransferStatus};
use titolare_domain::values::MobileNumber;

type Answer = Result<Response<Body>, ApiError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendCode {
    channel: Channel,
    /// A mobile number other than the one on file (SMS only).
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyCode {
    channel: Channel,
    code: String,
}

/// Whether the party's next step is this channel's code; a code already verified is said so.
fn code_step(
    t: &Transfer,
    party: Party,
    channel: Channel,
    now: jiff::Timestamp,
) -> Result<(), ApiError> {
    if !party.channels().contains(&channel) {
        return Err(CodeError::Channel(channel.as_str()).into());
    }
    t.code_step_allowed(party, channel, now)
        .map_err(|e| match e {
            titolare_domain::steps::StepError::AlreadyDone => CodeError::AlreadyApproved.into(),
            e => crate::problem::step_error(e),
        })
}

/// Where a party's Idempotency-Keys live: the initiator's with the account's.
fn scope(t: &Transfer, party: Party, caller: &Caller) -> IdempotencyScope {
    match (party, &caller.account) {
        (Party::Initiator, Some(account)) => IdempotencyScope::Account(account.clone()),
        _ => IdempotencyScope::Party(t.id.clone(), party),
    }
}

/// Where the code goes: the contact on file, or for SMS another number the party gives,
/// unless the policy forbids it or the hold it starts would outlast the deadline.
fn destination(
    s: &Services,
    t: &Transfer,
    party: Party,
    body: &SendCode,
    now: jiff::Timestamp,
) -> Result<String, ApiError> {
    let contact = t.contact(party);
    match (body.channel, &body.phone) {
        (Channel::Sms, phone) => {
            let mobile = match phone {
                Some(p) => MobileNumber::parse(p).map_err(|e| {
                    ApiError::Validation(titolare_domain::FieldErrors::one("phone", e.to_string()))
                })?,
                None => contact.mobile.clone(),
            };
            if !s.codes.sms_country_codes.contains(&mobile.country_code()) {
                return Err(CodeError::Country.into());
            }
            t.sms_number(party, &mobile, now, &s.rules)
                .map_err(crate::problem::step_error)?;
            Ok(mobile.as_str().to_owned())
        }
        (Channel::Email, None) => Ok(contact.email.as_str().to_owned()),
        (Channel::Email, Some(_)) => Err(ApiError::bad_field(
            "phone",
            "Il numero si indica solo per il canale sms.",
        )),
    }
}

pub async fn send(
    s: &Services,
    transfer: Versioned<Transfer>,
    party: Party,
    caller: &Caller,
    req: &Request,
) -> Answer {
    query_params(req, &[])?;
    let body: SendCode = json_body(req)?;
    let idem = Idem::of(req, scope(&transfer.value, party, caller), s.key.as_ref())?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    send_code(
        s,
        transfer,
        party,
        body.channel,
        body.phone,
        caller,
        idem.as_ref(),
    )
    .await
}

/// A code to `party` on `channel` (to `phone` instead of the number on file, for SMS): the
/// party's own call, or support's to the contact on file.
pub(crate) async fn send_code(
    s: &Services,
    transfer: Versioned<Transfer>,
    party: Party,
    channel: Channel,
    phone: Option<String>,
    caller: &Caller,
    idem: Option<&Idem>,
) -> Answer {
    let body = SendCode { channel, phone };
    let now = s.clock.now();
    let body = &body;
    with_retries(s, idem, transfer, |read| async move {
        let t = &read.value;
        let destination = destination(s, t, party, body, now)?;
        code_step(t, party, body.channel, now)?;
        let current = s.store.challenge(&t.id, party, body.channel).await?;
        let challenge = Challenge::send_under(
            current.as_ref().map(|c| &c.value),
            t.contact(party).link,
            &t.id,
            party,
            body.channel,
            &destination,
            now,
            &s.codes,
        )?;
        let quotas = match body.channel {
            Channel::Sms => sms_quotas(s, t, &destination, now).await?,
            Channel::Email => Vec::new(),
        };
        let answer = CodeSent {
            channel: challenge.channel,
            destination: mask(&challenge.destination),
            expires_at: challenge.expires_at,
            resend_after: challenge.last_sent_at + s.codes.resend_after,
            sends_left: challenge.sends_left(&s.codes),
        };
        // The audit keeps where each code went, masked: a number changed to pump SMS shows.
        let after = t.noted(
            party,
            titolare_domain::transfer::AuditAction::CodeSent,
            Some(format!(
                "{} n. {} a {}",
                body.channel.as_str(),
                challenge.sends,
                mask(&challenge.destination)
            )),
            now,
            &actor(caller),
        );
        let extra = Extra {
            challenge: Some((current.as_ref().map(|c| c.version), &challenge)),
            quotas,
            messages: vec![OutboxMessage::code(&challenge, t, now)],
            idempotent: idem.map(|i| i.record(StatusCode::ACCEPTED, &answer, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        Ok(json(StatusCode::ACCEPTED, &answer))
    })
    .await
}

/// The SMS limits across transfers this send counts against (the number's and the
/// account's send logs, each one more send), or the limit it would break.
async fn sms_quotas(
    s: &Services,
    t: &Transfer,
    destination: &str,
    now: jiff::Timestamp,
) -> Result<Vec<QuotaWrite>, ApiError> {
    let (to, for_account) = (
        QuotaKey::SmsTo(destination.to_owned()),
        QuotaKey::SmsFor(t.account.clone()),
    );
    // Both logs at once: this is on the path of every SMS send.
    let (to_log, account_log) =
        tokio::try_join!(s.store.send_log(&to), s.store.send_log(&for_account))?;
    let limits = [
        (to, s.codes.sms_per_destination, to_log),
        (for_account, s.codes.sms_per_account, account_log),
    ];
    limits
        .into_iter()
        .map(|(key, limit, current)| {
            QuotaWrite::admitting(key, current, 1, limit, now)
                .map_err(|over| CodeError::SmsLimit(over).into())
        })
        .collect()
}

/// Checks a code; an approved one is the party's step (it may open or complete the transfer),
/// a wrong one counts against the code and is kept in the audit trail.
pub async fn verify(
    s: &Services,
    transfer: Versioned<Transfer>,
    party: Party,
    caller: &Caller,
    req: &Request,
) -> Answer {
    query_params(req, &[])?;
    let body: VerifyCode = json_body(req)?;
    let idem = Idem::of(req, scope(&transfer.value, party, caller), s.key.as_ref())?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let now = s.clock.now();
    if let Some(answer) = approved_repeat(s, &transfer.value, party, &body, now).await? {
        return Ok(answer);
    }
    let actor = &actor(caller);
    let (body, idem) = (&body, idem.as_ref());
    with_retries(s, idem, transfer, |read| async move {
        let resolved = with_hand_over_resolved(s, &read.value).await?;
        let t: &Transfer = &resolved;
        code_step(t, party, body.channel, now)?;
        let current = s
            .store
            .challenge(&t.id, party, body.channel)
            .await?
            .ok_or(CodeError::NoCode)?;
        let (stored, result) = current.value.verify(&body.code, now, s.key()?, &s.codes);
        let Some(next) = &stored else {
            result?;
            return Err(CodeError::NoCode.into());
        };
        let mut messages = Vec::new();
        let after = match &result {
            Ok(()) => {
                // A holder's number other than the one on file holds the transfer, and the
                // number and email on file are told at once (docs/security.md).
                let changed = changed_number(s, t, party, body.channel, &next.destination, now)?;
                let base = match &changed {
                    Some(number) => t.held(party, number, now, &s.rules, actor),
                    None => t.clone(),
                };
                let after = base
                    .apply(party, &Action::Verified(body.channel), now, &s.rules, actor)
                    .map_err(crate::problem::step_error)?
                    .transfer;
                if let Some(number) = &changed {
                    messages = number_change_notices(&after, party, number, now);
                }
                after
            }
            Err(e) => t.noted(
                party,
                titolare_domain::transfer::AuditAction::CodeRefused,
                Some(format!("{}: {e}", body.channel.as_str())),
                now,
                actor,
            ),
        };
        let answer = approved_answer(body.channel, &after, party);
        let extra = Extra {
            challenge: Some((Some(current.version), next)),
            messages,
            idempotent: idem
                .filter(|_| result.is_ok())
                .map(|i| i.record(StatusCode::OK, &answer, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        result?;
        tracing::info!(request_id = %caller.request_id, transfer = t.id.as_str(), party = party.as_str(), channel = body.channel.as_str(), status = ?after.status, "code approved");
        Ok(json(StatusCode::OK, &answer))
    })
    .await
}

/// The number a holder's SMS code was verified at, when it is not the one on file (and the
/// policy still allows it now).
fn changed_number(
    s: &Services,
    t: &Transfer,
    party: Party,
    channel: Channel,
    destination: &str,
    now: jiff::Timestamp,
) -> Result<Option<MobileNumber>, ApiError> {
    if channel != Channel::Sms {
        return Ok(None);
    }
    let number = MobileNumber::parse(destination).map_err(|_| CodeError::NoCode)?;
    let changed = t
        .sms_number(party, &number, now, &s.rules)
        .map_err(crate::problem::step_error)?;
    Ok(changed.then_some(number))
}

/// `CodeSent` of the OpenAPI file: the code is on its way.
#[derive(Serialize)]
struct CodeSent {
    channel: Channel,
    destination: String,
    expires_at: jiff::Timestamp,
    resend_after: jiff::Timestamp,
    sends_left: u32,
}

/// `CodeApproved`: the code was right, and where the transfer stands now.
#[derive(Serialize)]
struct CodeApproved {
    channel: Channel,
    code: &'static str,
    status: TransferStatus,
    deadline: jiff::Timestamp,
    hold_until: Option<jiff::Timestamp>,
    steps_left: Vec<Step>,
}

/// `CodeStatus`: where each of a party's codes stands.
#[derive(Serialize)]
struct CodeStatus {
    party: Party,
    items: Vec<CodeState>,
}

#[derive(Serialize)]
struct CodeState {
    channel: Channel,
    destination: String,
    status: titolare_domain::otp::ChallengeStatus,
    delivery: titolare_domain::otp::Delivery,
    notice: Option<String>,
    expires_at: jiff::Timestamp,
    sends_left: u32,
    tries_left: u32,
    resend_after: jiff::Timestamp,
    /// Relative too: a page cannot trust its device's clock to count down.
    resend_in_seconds: i64,
}

fn approved_answer(channel: Channel, t: &Transfer, party: Party) -> CodeApproved {
    CodeApproved {
        channel,
        code: "approved",
        status: t.status,
        deadline: t.deadline,
        hold_until: t.hold_until,
        steps_left: t.steps_left(party),
    }
}

/// The answer to the very code a party already verified, sent again (a double click, a
/// retry without Idempotency-Key): the success again, with the request as it stands now.
/// Any other code for a verified channel stays a 409.
async fn approved_repeat(
    s: &Services,
    t: &Transfer,
    party: Party,
    body: &VerifyCode,
    now: jiff::Timestamp,
) -> Result<Option<Response<Body>>, ApiError> {
    let step = match body.channel {
        Channel::Sms => titolare_domain::transfer::Step::Sms,
        Channel::Email => titolare_domain::transfer::Step::Email,
    };
    if !t.steps_done(party).contains(&step) {
        return Ok(None);
    }
    let Some(challenge) = s.store.challenge(&t.id, party, body.channel).await? else {
        return Ok(None);
    };
    if !challenge.value.approved_with(&body.code, s.key()?) {
        return Ok(None);
    }
    let answer = approved_answer(body.channel, &t.seen_at(now), party);
    Ok(Some(json(StatusCode::OK, &answer)))
}

/// Where each of the party's codes stands, so a page can show "non consegnato: invia di
/// nuovo" and when a resend is allowed.
pub async fn status(
    s: &Services,
    transfer: Versioned<Transfer>,
    party: Party,
    req: &Request,
) -> Answer {
    crate::input::no_body(req)?;
    query_params(req, &[])?;
    let now = s.clock.now();
    let t = &transfer.value;
    t.accepts_steps(now)?;
    let mut items = Vec::new();
    for channel in party.channels() {
        let Some(c) = s.store.challenge(&t.id, party, *channel).await? else {
            continue;
        };
        let c = c.value;
        let status =
            if c.status == titolare_domain::otp::ChallengeStatus::Pending && now >= c.expires_at {
                titolare_domain::otp::ChallengeStatus::Expired
            } else {
                c.status
            };
        let resend_at = if c.delivery == titolare_domain::otp::Delivery::Failed {
            now
        } else {
            c.last_sent_at + s.codes.resend_after
        };
        items.push(CodeState {
            channel: c.channel,
            destination: mask(&c.destination),
            status,
            delivery: c.delivery,
            notice: c.delivery.notice(c.failure.as_ref()),
            expires_at: c.expires_at,
            sends_left: c.sends_left(&s.codes),
            tries_left: s.codes.max_attempts.saturating_sub(c.attempts),
            resend_after: resend_at,
            resend_in_seconds: resend_at.duration_since(now).as_secs().max(0),
        });
    }
    Ok(json(StatusCode::OK, &CodeStatus { party, items }))
}
