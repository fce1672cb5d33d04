//! The initiator's routes on a request: read, list, cancel, remind, correct a contact.

use super::access::*;
use super::commit::*;
use super::views::*;
use crate::context::{Caller, Services};
use crate::idempotency::{Idem, replayed};
use crate::input::{empty_object, json_body, no_body, query_params};
use crate::lifecycle::Extra;
use crate::problem::ApiError;
use crate::reply::{Listing, json, value_of};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use titolare_domain::otp::Party;
use titolare_domain::outbox::mask;
use titolare_domain::ports::*;
use titolare_domain::steps::Action;
use titolare_domain::transfer::*;
use titolare_domain::{FieldErrors, PageRequest};

type Answer = Result<Response<Body>, ApiError>;

pub(crate) async fn get(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let (t, _) = initiator_transfer(s, caller, id).await?;
    Ok(json(
        StatusCode::OK,
        &initiator_view(&t.value.seen_at(s.clock.now())),
    ))
}

pub(crate) async fn list(s: &Services, caller: &Caller, req: &Request) -> Answer {
    // Who is asking comes first: without a token the answer is 401 whatever the query.
    caller.account()?;
    no_body(req)?;
    let params = query_params(req, &["status", "page_size", "cursor"])?;
    let page = PageRequest::parse(
        params.get("page_size").map(String::as_str),
        params.get("cursor").map(String::as_str),
    )
    .map_err(|errors| ApiError::BadRequest {
        detail: "Parametri di paginazione non validi.".into(),
        errors: Some(errors),
    })?;
    let mut statuses = Vec::new();
    if let Some(list) = params.get("status") {
        for name in list.split(',') {
            let status: TransferStatus =
                serde_json::from_value(json!(name.trim())).map_err(|_| {
                    ApiError::bad_field(
                        "status",
                        "Stato non valido: usa uno o più tra draft (bozza), open (aperta), completed (completata), rejected (rifiutata), cancelled (annullata) ed expired (scaduta), separati da virgola.",
                    )
                })?;
            statuses.push(status);
        }
    }
    let listed = s
        .store
        .transfers(caller.account()?, &statuses, &page)
        .await?;
    Ok(json(StatusCode::OK, &Listing::of(listed)))
}

pub(crate) async fn cancel(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(req, IdempotencyScope::Account(account), s.key.as_ref())?;
    empty_object(req)?;
    let (t, party) = initiator_transfer(s, caller, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    run_step(s, t, party, &Action::Cancel, caller, idem.as_ref(), |t| {
        value_of(initiator_view(t))
    })
    .await
}

/// `InvitationSent` of the OpenAPI file.
#[derive(Serialize)]
struct InvitationSent {
    party: Party,
    sent_to: String,
    invitations_left: u32,
    resend_after: jiff::Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteInput {
    party: Party,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactsInput {
    party: Party,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// `POST /v1/transfers/{id}/invitations`: the invitation again to one holder (a reminder;
/// the same link), within the limits of code sends.
pub(crate) async fn reinvite(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(req, IdempotencyScope::Account(account), s.key.as_ref())?;
    let body: InviteInput = json_body(req)?;
    let (t, _) = initiator_transfer(s, caller, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    invite(s, caller, t, body.party, idem.as_ref()).await
}

/// The invitation again to `party` of the request as read (the initiator's, or support's).
pub(crate) async fn invite(
    s: &Services,
    caller: &Caller,
    t: Versioned<Transfer>,
    party: Party,
    idem: Option<&Idem>,
) -> Answer {
    let now = s.clock.now();
    with_retries(s, idem, t, |read| async move {
        let after = read.value.reinvited(party, now, &s.codes, &actor(caller))?;
        let contact = after.contact(party);
        let answer = InvitationSent {
            party,
            sent_to: mask(contact.email.as_str()),
            invitations_left: s.codes.max_sends.saturating_sub(contact.invitations),
            resend_after: now + s.codes.resend_after,
        };
        let extra = Extra {
            messages: vec![titolare_domain::steps::invitation(&after, party, now)],
            idempotent: idem.map(|i| i.record(StatusCode::ACCEPTED, &answer, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        Ok(json(StatusCode::ACCEPTED, &answer))
    })
    .await
}

/// `PATCH /v1/transfers/{id}/contacts`: a holder's email or mobile corrected before the
/// holder verified it. The holder gets a new link at the corrected address, the old link
/// and any code sent to the old destination stop working.
pub(crate) async fn correct_contact(
    s: &Services,
    caller: &Caller,
    id: &str,
    req: &Request,
) -> Answer {
    use titolare_domain::invite::Correction;
    use titolare_domain::otp::{ChallengeStatus, Channel};
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(req, IdempotencyScope::Account(account), s.key.as_ref())?;
    let body: ContactsInput = json_body(req)?;
    let mut errors = FieldErrors::default();
    let mobile = body.mobile.as_deref().and_then(|m| {
        titolare_domain::values::MobileNumber::parse(m)
            .map_err(|e| errors.insert("mobile", e.to_string()))
            .ok()
    });
    let email = body.email.as_deref().and_then(|m| {
        titolare_domain::values::EmailAddress::parse(m)
            .map_err(|e| errors.insert("email", e.to_string()))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let correction = Correction { mobile, email };
    let (t, _) = initiator_transfer(s, caller, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let now = s.clock.now();
    let (party, idem, correction) = (body.party, idem.as_ref(), &correction);
    with_retries(s, idem, t, |read| async move {
        let Some(after) = read
            .value
            .corrected(party, correction, now, &s.codes, &actor(caller))?
        else {
            return Ok(json(StatusCode::OK, &initiator_view(&read.value)));
        };
        // A code on its way to the old destination must not approve the new one.
        let (before, now_contact) = (read.value.contact(party), after.contact(party));
        let channel = if before.mobile != now_contact.mobile {
            Channel::Sms
        } else {
            Channel::Email
        };
        let pending = s
            .store
            .challenge(&read.value.id, party, channel)
            .await?
            .filter(|c| c.value.status == ChallengeStatus::Pending);
        let voided = pending.as_ref().map(|c| {
            let mut v = c.value.clone();
            v.status = ChallengeStatus::Canceled;
            (Some(c.version), v)
        });
        let body = initiator_view(&after);
        let extra = Extra {
            challenge: voided.as_ref().map(|(v, c)| (*v, c)),
            messages: vec![titolare_domain::steps::invitation(&after, party, now)],
            idempotent: idem.map(|i| i.record(StatusCode::OK, &body, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        Ok(json(StatusCode::OK, &body))
    })
    .await
}
