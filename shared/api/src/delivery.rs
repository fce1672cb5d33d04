//! A provider's report on a message it took, recorded (docs/rules.md, "Delivery"): on the
//! message; on the code's challenge, so the code step says "consegnato" or why not; and for
//! an invitation on the holder's contact, where a loss for good stops the reminders, goes on
//! the trail and is told to the initiator, in the one transaction of the transfer's change.

use crate::lifecycle::{Change, Extra, commit};
use crate::problem::ApiError;
use titolare_domain::delivery::{Outcome, Report};
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::otp::{ChallengeStatus, Channel, Delivery, Party};
use titolare_domain::outbox::{Message, OutboxMessage};
use titolare_domain::ports::*;
use titolare_domain::steps::Rules;
use titolare_domain::transfer::Actor;

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// On the message (and what it reports on).
    Recorded,
    /// It changed nothing: a repeat, or after a final word.
    Unchanged,
    /// No message the service keeps has that provider id (past its record's life, or not
    /// the service's: a provider's account may send for others too).
    Unknown,
}

/// Records `report`; a write that raced another (the dispatcher, another report) reads
/// again, a few times.
pub async fn record(
    store: &dyn Store,
    metrics: &dyn Metrics,
    rules: &Rules,
    now: jiff::Timestamp,
    report: &Report,
) -> Result<Recorded, ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match record_once(store, metrics, rules, now, report).await {
            Err(ApiError::Store(StoreError::Conflict)) if attempt < 4 => continue,
            other => return other,
        }
    }
}

async fn record_once(
    store: &dyn Store,
    metrics: &dyn Metrics,
    rules: &Rules,
    now: jiff::Timestamp,
    report: &Report,
) -> Result<Recorded, ApiError> {
    let found = match store.sent_message(&report.provider_id).await? {
        Some((transfer, id)) => store.outbox_message(&transfer, &id).await?,
        None => None,
    };
    let Some(message) = found else {
        return Ok(Recorded::Unknown);
    };
    let Some(updated) = message.value.reported(report) else {
        return Ok(Recorded::Unchanged);
    };
    metrics.record(Metric::DeliveryReport {
        channel: updated.channel,
        outcome: report.outcome.as_str(),
    });
    match updated.message {
        Message::Code { party, send_no } => {
            let challenge = match store
                .challenge(&updated.transfer, party, updated.channel)
                .await?
            {
                Some(mut c)
                    if c.value.sends == send_no && c.value.status == ChallengeStatus::Pending =>
                {
                    match &report.outcome {
                        Outcome::Delivered => c.value.delivery = Delivery::Delivered,
                        Outcome::Delayed => {}
                        Outcome::Failed { failure } => {
                            c.value.delivery = Delivery::Failed;
                            c.value.failure = Some(failure.clone());
                        }
                    }
                    Some(c)
                }
                _ => None,
            };
            store
                .update_outbox(message.version, &updated, challenge.as_ref())
                .await?;
        }
        Message::Invitation { party, link, .. } if updated.channel == Channel::Email => {
            invitation(
                store,
                metrics,
                rules,
                now,
                report,
                (message.version, updated),
                party,
                link,
            )
            .await?;
        }
        _ => store.update_outbox(message.version, &updated, None).await?,
    }
    Ok(Recorded::Recorded)
}

/// An invitation's report: on the holder's contact too, while the request is open.
#[allow(clippy::too_many_arguments)]
async fn invitation(
    store: &dyn Store,
    metrics: &dyn Metrics,
    rules: &Rules,
    now: jiff::Timestamp,
    report: &Report,
    (before, updated): (u64, OutboxMessage),
    party: Party,
    link: u32,
) -> Result<(), ApiError> {
    let actor = Actor::system("delivery-events");
    let Some(read) = store.transfer(&updated.transfer).await? else {
        return Ok(store.update_outbox(before, &updated, None).await?);
    };
    let Some((after, lost)) = read
        .value
        .invitation_reported(party, link, report, now, &actor)
    else {
        return Ok(store.update_outbox(before, &updated, None).await?);
    };
    let mut messages = Vec::new();
    if let (true, Outcome::Failed { failure }) = (lost, &report.outcome) {
        let mut notice = OutboxMessage::notice(
            &after,
            Party::Initiator,
            Message::Undelivered {
                party,
                failure: failure.clone(),
            },
            now,
        );
        // Once per holder and address: a corrected address may be lost too.
        notice.id = format!("{}-{}-{link}", notice.id, party.as_str());
        messages.push(notice);
    }
    let change = Change {
        condition: TransferCondition::Unchanged(read.version),
        before: &read.value,
        after: &after,
    };
    let extra = Extra {
        messages,
        reported: Some((before, updated)),
        ..Extra::default()
    };
    commit(store, metrics, rules, now, change, extra).await
}
