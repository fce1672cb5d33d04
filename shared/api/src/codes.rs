//! One-time codes over HTTP: the initiator's (account login) and the holders' (link token).

use crate::input::{json_body, query_params};
use crate::problem::ApiError;
use crate::{Caller, Services, json};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use titolare_domain::otp::{Challenge, Channel, CodeError, Party};
use titolare_domain::outbox::{OutboxMessage, mask};
use titolare_domain::ports::{StoreError, Versioned};
use titolare_domain::transfer::{LinkToken, Transfer, TransferId, TransferStatus};
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

/// The initiator's request, if it is the caller account's.
pub async fn initiator_transfer(
    s: &Services,
    caller: &Caller,
    id: &str,
) -> Result<(Versioned<Transfer>, Party), ApiError> {
    let account = caller.account()?;
    let id = TransferId::parse(id).map_err(|_| ApiError::NotFound("Richiesta"))?;
    match s.store.transfer(&id).await? {
        Some(t) if t.value.account == *account => Ok((t, Party::Initiator)),
        _ => Err(ApiError::NotFound("Richiesta")),
    }
}

/// The request and role a holder's link token names. A malformed token, a forged one and
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
    let link = LinkToken::verify(s.key()?, token).ok_or(ApiError::InvalidLink)?;
    let transfer = s
        .store
        .transfer(&link.transfer)
        .await?
        .ok_or(ApiError::InvalidLink)?;
    Ok((transfer, link.party))
}

/// Which status a party's codes belong to: the initiator verifies a draft, holders an open request.
fn check_phase(transfer: &Transfer, party: Party, now: jiff::Timestamp) -> Result<(), ApiError> {
    transfer.accepts_steps(now)?;
    let expected = if party == Party::Initiator {
        TransferStatus::Draft
    } else {
        TransferStatus::Open
    };
    if transfer.status != expected {
        return Err(ApiError::Conflict(if party == Party::Initiator {
            "La richiesta è già aperta: il numero del richiedente è già verificato."
        } else {
            "La richiesta non è ancora aperta."
        }));
    }
    Ok(())
}

pub async fn send(
    s: &Services,
    transfer: Versioned<Transfer>,
    party: Party,
    req: &Request,
) -> Answer {
    query_params(req, &[])?;
    let body: SendCode = json_body(req)?;
    let now = s.clock.now();
    let t = &transfer.value;
    check_phase(t, party, now)?;
    let contact = t.contact(party);
    let destination = match (body.channel, body.phone) {
        (Channel::Sms, phone) => {
            let mobile = match phone {
                Some(p) => MobileNumber::parse(&p).map_err(|e| {
                    ApiError::Validation(titolare_domain::FieldErrors::one("phone", e.to_string()))
                })?,
                None => contact.mobile.clone(),
            };
            if !s.codes.sms_country_codes.contains(&mobile.country_code()) {
                return Err(CodeError::Country.into());
            }
            mobile.as_str().to_owned()
        }
        (Channel::Email, None) => contact.email.as_str().to_owned(),
        (Channel::Email, Some(_)) => {
            return Err(ApiError::bad_field("phone", "solo per il canale sms"));
        }
    };
    let current = s.store.challenge(&t.id, party, body.channel).await?;
    let challenge = Challenge::send(
        current.as_ref().map(|c| &c.value),
        &t.id,
        party,
        body.channel,
        &destination,
        now,
        &s.codes,
    )?;
    let message = OutboxMessage::code(&challenge, t, now);
    s.store
        .record_send(&transfer, current.map(|c| c.version), &challenge, &message)
        .await
        .map_err(concurrent)?;
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({
            "channel": challenge.channel,
            "destination": mask(&challenge.destination),
            "expires_at": challenge.expires_at,
            "resend_after": challenge.last_sent_at + s.codes.resend_after,
            "sends_left": s.codes.max_sends.saturating_sub(challenge.sends),
        }),
    ))
}

pub async fn verify(
    s: &Services,
    transfer: Versioned<Transfer>,
    party: Party,
    caller: &Caller,
    req: &Request,
) -> Answer {
    query_params(req, &[])?;
    let body: VerifyCode = json_body(req)?;
    let now = s.clock.now();
    let t = &transfer.value;
    check_phase(t, party, now)?;
    let current = s
        .store
        .challenge(&t.id, party, body.channel)
        .await?
        .ok_or(CodeError::NoCode)?;
    let (stored, result) = current.value.verify(&body.code, now, s.key()?, &s.codes);
    if let Some(next) = &stored {
        s.store
            .record_attempt(&transfer, current.version, next)
            .await
            .map_err(concurrent)?;
    }
    result?;
    tracing::info!(request_id = %caller.request_id, transfer = t.id.as_str(), party = party.as_str(), channel = body.channel.as_str(), "code approved");
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "channel": body.channel, "status": "approved" }),
    ))
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
        items.push(serde_json::json!({
            "channel": c.channel,
            "destination": mask(&c.destination),
            "status": status,
            "delivery": c.delivery,
            "notice": (c.delivery == titolare_domain::otp::Delivery::Failed).then_some("non consegnato: invia di nuovo"),
            "expires_at": c.expires_at,
            "sends_left": s.codes.max_sends.saturating_sub(c.sends),
            "resend_after": resend_at,
        }));
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "party": party, "items": items }),
    ))
}

/// Two calls raced on the same challenge; the other one's outcome stands.
fn concurrent(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict => {
            ApiError::Conflict("Un'altra richiesta ha appena modificato questo codice: riprovare.")
        }
        other => other.into(),
    }
}
