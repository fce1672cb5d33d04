//! The holders' routes (link token): the request as they see it, their steps, a stop.

use super::access::*;
use super::commit::*;
use super::views::*;
use crate::context::{Caller, Services};
use crate::idempotency::{Idem, replayed};
use crate::input::{empty_object, json_body, no_body, query_params};
use crate::problem::ApiError;
use crate::reply::{json, value_of};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use titolare_domain::otp::Party;
use titolare_domain::ports::*;
use titolare_domain::steps::{Action, Decision};
use titolare_domain::transfer::*;

type Answer = Result<Response<Body>, ApiError>;

pub(crate) async fn party(s: &Services, req: &Request) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let (t, party) = holder_transfer(s, req).await?;
    t.value.accepts_steps(s.clock.now())?;
    Ok(json(
        StatusCode::OK,
        &party_view(s, &t.value, party).with_vocabulary(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionInput {
    item: String,
    accept: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decisions {
    decisions: Vec<DecisionInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolderDataInput {
    confirm: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractInput {
    accepted: Vec<String>,
}

pub(crate) async fn holder_step(
    s: &Services,
    caller: &Caller,
    req: &Request,
    step: Step,
) -> Answer {
    query_params(req, &[])?;
    let (t, party) = if step == Step::Login {
        login_transfer(s, req).await?
    } else {
        holder_transfer(s, req).await?
    };
    let idem = Idem::of(
        req,
        IdempotencyScope::Party(t.value.id.clone(), party),
        s.key.as_ref(),
    )?;
    // A key seen before answers first (as it was, or "used for another body"), before the
    // body is judged: a repeat is never refused for what its first call passed.
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let action = match step {
        Step::Decisions => {
            let body: Decisions = json_body(req)?;
            let decisions = body
                .decisions
                .into_iter()
                .map(|d| {
                    let item = t
                        .value
                        .items
                        .iter()
                        .find(|i| i.item.id.eq_ignore_ascii_case(d.item.trim()))
                        .map(|i| i.item.clone())
                        .ok_or_else(|| {
                            ApiError::bad_field(
                                "decisions",
                                format!("L'elemento {} non fa parte di questa richiesta.", d.item),
                            )
                        })?;
                    Ok(Decision {
                        item,
                        accept: d.accept,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Action::Decide(decisions)
        }
        Step::HolderData => {
            let body: HolderDataInput = json_body(req)?;
            if !body.confirm {
                return Err(ApiError::Step {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    detail: format!(
                        "I dati del titolare non si modificano qui: per la ragione sociale segui la procedura di cambio ragione sociale ({}), per codice fiscale o partita IVA contatta l'assistenza ({}).",
                        s.rules.change_of_name_url, s.rules.support_url
                    ),
                    field: Some("confirm"),
                });
            }
            Action::ConfirmHolderData
        }
        Step::Contract => {
            let body: ContractInput = json_body(req)?;
            Action::AcceptContract(body.accepted)
        }
        Step::Login => {
            empty_object(req)?;
            Action::Login(caller.account()?.clone())
        }
        // Taken with a code (`codes`), not by a route of this kind.
        Step::Sms | Step::Email => return Err(ApiError::NotFound("Percorso non trovato.")),
    };
    let view = |t: &Transfer| value_of(party_view(s, t, party));
    run_step(s, t, party, &action, caller, idem.as_ref(), view).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopInput {
    token: String,
}

/// `POST /v1/party/stop`: a holder stops the transfer with the link sent to their number
/// and email on file when their mobile step was verified at another number: their rejection
/// of every item (docs/security.md). A repeat answers as the first.
pub(crate) async fn stop(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let body: StopInput = json_body(req)?;
    let token = StopToken::verify(s.key()?, &body.token).ok_or(ApiError::InvalidLink)?;
    let party = token.party;
    let t = s
        .store
        .transfer(&token.transfer)
        .await?
        .ok_or(ApiError::InvalidLink)?;
    let view = |t: &Transfer| {
        value_of(Stopped {
            id: &t.id,
            role: party,
            status: t.status,
            items: t.items.iter().map(|i| i.item.id.as_str()).collect(),
        })
    };
    let scope = IdempotencyScope::Party(t.value.id.clone(), party);
    let idem = Idem::of(req, scope, s.key.as_ref())?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    // A repeat answers as the first, with the link alone (no Idempotency-Key needed).
    if t.value.stopped_by(party) {
        return Ok(json(StatusCode::OK, &view(&t.value)));
    }
    run_step(s, t, party, &Action::Stop, caller, idem.as_ref(), view).await
}

/// The login step: the account comes from the JWT (Authorization), the transfer and role
/// from the link token in `X-Link-Token`; only the new holder logs in.
async fn login_transfer(
    s: &Services,
    req: &Request,
) -> Result<(Versioned<Transfer>, Party), ApiError> {
    let token = req
        .headers()
        .get("x-link-token")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidLink)?;
    let (t, party) = transfer_of_token(s, token).await?;
    if party != Party::NewHolder {
        return Err(ApiError::Conflict(
            "Questo passaggio è solo del nuovo titolare: a te non serve accedere con un account.",
        ));
    }
    Ok((t, party))
}
