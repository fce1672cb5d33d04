//! Running a step on a transfer as just read: retried on a concurrent change, answered as
//! the first when repeated, committed with one conditional transaction.

use super::access::*;
use crate::context::{Caller, Services};
use crate::idempotency::{Idem, refused_unless_replayed, replayed};
use crate::lifecycle::{Change, Extra, commit};
use crate::problem::ApiError;
use crate::reply::json;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::Value;
use titolare_domain::otp::Party;
use titolare_domain::ports::*;
use titolare_domain::steps::Action;
use titolare_domain::transfer::*;

type Answer = Result<Response<Body>, ApiError>;

/// Tries of a step that keeps meeting concurrent changes before it gives up with a 409.
const TRIES: usize = 4;

/// Runs `attempt` on the transfer as just read. When a concurrent change wins the race (a
/// conflict), answers as the winner was answered if it carried the same Idempotency-Key, else
/// reads the transfer again and decides afresh, so a repeat is never applied twice.
pub(crate) async fn with_retries<F, Fut>(
    s: &Services,
    idem: Option<&Idem>,
    mut read: Versioned<Transfer>,
    mut attempt: F,
) -> Answer
where
    F: FnMut(Versioned<Transfer>) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let id = read.value.id.clone();
    for _ in 0..TRIES {
        match attempt(read).await {
            Err(ApiError::Store(StoreError::Conflict)) => {
                if let Some(answer) = replayed(idem, &*s.store).await? {
                    return Ok(answer);
                }
                read = s.store.transfer(&id).await?.ok_or(ApiError::InvalidLink)?;
            }
            // Refused on a state a twin call with the same key has just made (a resend "too
            // soon" after its send): that call's answer is this one's.
            Err(refused) if idem.is_some() => {
                return refused_unless_replayed(idem, &*s.store, refused).await;
            }
            other => return other,
        }
    }
    Err(busy())
}

/// Runs `action` of `party` on the transfer and answers with `view` of the result.
pub(crate) async fn run_step(
    s: &Services,
    read: Versioned<Transfer>,
    party: Party,
    action: &Action,
    caller: &Caller,
    idem: Option<&Idem>,
    view: impl Fn(&Transfer) -> Value,
) -> Answer {
    let now = s.clock.now();
    let view = &view;
    with_retries(s, idem, read, |read| async move {
        let applied = read
            .value
            .apply(party, action, now, &s.rules, &actor(caller))
            .map_err(crate::problem::step_error)?;
        let body = view(&applied.transfer);
        if !applied.changed {
            return Ok(json(StatusCode::OK, &body));
        }
        let extra = Extra {
            idempotent: idem.map(|i| i.record(StatusCode::OK, &body, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &applied.transfer, extra).await?;
        tracing::info!(request_id = %caller.request_id, transfer = read.value.id.as_str(), party = party.as_str(), status = ?applied.transfer.status, "step");
        Ok(json(StatusCode::OK, &body))
    })
    .await
}

/// Commits what a call of the request's parties did to the request as just read: the write
/// holds only if nobody changed the transfer since.
pub(crate) async fn commit_over(
    s: &Services,
    now: jiff::Timestamp,
    read: &Versioned<Transfer>,
    after: &Transfer,
    mut extra: Extra<'_>,
) -> Result<(), ApiError> {
    let condition = TransferCondition::Unchanged(read.version);
    extra.email_limit = Some(s.codes.emails_per_account);
    commit(
        &*s.store,
        &*s.metrics,
        &s.rules,
        now,
        Change {
            condition,
            before: &read.value,
            after,
        },
        extra,
    )
    .await
}

pub(crate) fn busy() -> ApiError {
    ApiError::Conflict(crate::problem::seldom::BUSY)
}
