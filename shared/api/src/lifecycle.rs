//! Committing a request's state change with everything it causes, for the HTTP steps, the
//! scheduled expirer and the TTL backstop alike.

use crate::problem::ApiError;
use titolare_domain::consequences::{self, Reads};
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::otp::Challenge;
use titolare_domain::otp::{CodePolicy, Party};
use titolare_domain::outbox::OutboxMessage;
use titolare_domain::ports::*;
use titolare_domain::quota::{Limit, QuotaKey};
use titolare_domain::steps::{Action, Rules, StepError};
use titolare_domain::transfer::Actor;
use titolare_domain::transfer::{Management, Transfer, TransferId, TransferStatus};

/// What a call adds to the consequences of its step: the code challenge it sends or checks,
/// the send logs that counts against, a message of its own (a code, a reminder), its
/// idempotent answer.
#[derive(Default)]
pub(crate) struct Extra<'a> {
    pub challenge: Option<(Option<u64>, &'a Challenge)>,
    pub quotas: Vec<QuotaWrite>,
    pub messages: Vec<OutboxMessage>,
    pub idempotent: Option<(IdempotencyScope, IdempotentResponse)>,
    /// The account's limit on invitations and code emails, for changes a call makes (the
    /// scheduled endings queue only notices and are never refused).
    pub email_limit: Option<Limit>,
    /// A sent message a provider reported on, over the version read.
    pub reported: Option<(u64, OutboxMessage)>,
}

/// A transfer as read (`before`), as it becomes (`after`), and what must still hold of the
/// stored one for the write to go through.
pub(crate) struct Change<'a> {
    pub condition: TransferCondition,
    pub before: &'a Transfer,
    pub after: &'a Transfer,
}

/// Commits `before` → `after` in one transaction: everything the domain says the step
/// causes (`consequences::commit`: messages, operations, moved items, locks, index, list
/// line, outcome), with what the call adds (`extra`). A completion first reads what it
/// moves.
pub(crate) async fn commit(
    store: &dyn Store,
    metrics: &dyn Metrics,
    rules: &Rules,
    now: jiff::Timestamp,
    change: Change<'_>,
    extra: Extra<'_>,
) -> Result<(), ApiError> {
    let Change {
        condition,
        before,
        after,
    } = change;
    let reads = if consequences::completes(Some(before), after) {
        completion_reads(store, after).await?
    } else {
        Reads::default()
    };
    let mut commit = consequences::commit(condition, Some(before), after, now, rules, reads)?;
    // The call's own message first, then the step's consequences.
    commit.messages = extra.messages.into_iter().chain(commit.messages).collect();
    commit.quotas = extra.quotas;
    if let Some(limit) = extra.email_limit {
        commit
            .quotas
            .extend(email_quota(store, after, &commit.messages, limit, now).await?);
    }
    commit.challenge = extra.challenge;
    commit.reported = extra.reported;
    commit.idempotent = extra.idempotent;
    store.commit(&commit).await.map_err(ApiError::from)?;
    record_commit(metrics, Some(before), after, &commit.messages);
    Ok(())
}

/// What a completion must read before the domain can decide it: each moved item as stored,
/// and, with `hand_over`, the new holder's profile to copy unless the account that manages
/// the items has it already (an earlier `hand_over`: its copy is its own, edits included,
/// and is left as it is; the copy is written only if still absent, so two completions at
/// once cannot both write it).
async fn completion_reads(store: &dyn Store, after: &Transfer) -> Result<Reads, ApiError> {
    let moved: Vec<_> = after.moved().cloned().collect();
    let moved = store.items(&after.account, &moved).await?;
    let mut profile_copy = None;
    if let Management::HandOver {
        account: Some(account),
        ..
    } = &after.management
    {
        let id = &after.new_holder_card.id;
        if store.holder(account, id).await?.is_none() {
            let holder = store
                .holder(&after.account, id)
                .await?
                .ok_or(ApiError::Conflict(crate::problem::seldom::PROFILE_GONE))?;
            profile_copy = Some(holder.value);
        }
    }
    Ok(Reads {
        moved,
        profile_copy,
    })
}

/// The account's email log with this change's invitations and code emails added, or the
/// limit they would break (429 with Retry-After). Other emails are a transfer's own notices.
async fn email_quota(
    store: &dyn Store,
    after: &Transfer,
    messages: &[OutboxMessage],
    limit: Limit,
    now: jiff::Timestamp,
) -> Result<Option<QuotaWrite>, ApiError> {
    use titolare_domain::outbox::Message;
    let count = messages
        .iter()
        .filter(|m| m.channel == titolare_domain::otp::Channel::Email)
        .filter(|m| matches!(m.message, Message::Invitation { .. } | Message::Code { .. }))
        .count();
    if count == 0 {
        return Ok(None);
    }
    let key = QuotaKey::EmailFor(after.account.clone());
    let current = store.send_log(&key).await?;
    QuotaWrite::admitting(key, current, count, limit, now)
        .map(Some)
        .map_err(ApiError::EmailLimit)
}

/// What a committed change tells an operator: the steps its new trail lines record, the
/// codes it queued, the ending it reached. `before` is `None` for a new transfer. Steps are
/// always written to the trail (only code events are dropped at its cap), so none is missed.
pub(crate) fn record_commit(
    metrics: &dyn Metrics,
    before: Option<&Transfer>,
    after: &Transfer,
    messages: &[OutboxMessage],
) {
    let known = before.map_or(0, |b| b.audit.len());
    for entry in after.audit.iter().skip(known) {
        if let (true, Some(party)) = (entry.is_step(), entry.party) {
            metrics.record(Metric::StepTaken { party });
        }
    }
    for message in messages {
        if let titolare_domain::outbox::Message::Code { .. } = message.message {
            metrics.record(Metric::CodeSent {
                channel: message.channel,
            });
        }
    }
    if after.status.is_ended() && !before.is_some_and(|b| b.status.is_ended()) {
        metrics.record(Metric::RequestEnded {
            outcome: after.status,
        });
    }
}

/// What one pass of the expirer over a page of the index did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpiryReport {
    pub expired: usize,
    /// Transfers whose wait after a changed number ended, every step taken: completed.
    pub completed: usize,
    /// Index entries of transfers already ended or gone, or ended meanwhile by someone else;
    /// or not quite due (an entry names its whole second: the moment may be later in it).
    pub skipped: usize,
    /// Transfers that could not be ended (unreadable, unwritable, store errors): reported
    /// and passed over, to be tried again by the next run.
    pub failed: usize,
    /// Transfers whose holders got the reminder before the deadline.
    pub reminded: usize,
    /// Where the next page starts; `None` once the index has no more overdue entries.
    pub next: Option<Due>,
    /// The deadline of the oldest overdue request found (the index is by deadline).
    pub oldest: Option<jiff::Timestamp>,
}

impl ExpiryReport {
    pub fn add(&mut self, other: &ExpiryReport) {
        self.expired += other.expired;
        self.completed += other.completed;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.reminded += other.reminded;
        self.next.clone_from(&other.next);
        self.oldest = self.oldest.into_iter().chain(other.oldest).min();
    }
}

/// Ends the overdue transfers of one page of the index by deadline (after `after`) as
/// `expired`: notifies the parties, writes the outcome. Running it twice, or alongside the
/// backstop, ends each request once. A transfer that cannot be ended is reported and passed
/// over, so it never keeps the expirer from the ones behind it.
async fn expire_overdue(
    store: &dyn Store,
    metrics: &dyn Metrics,
    clock: &dyn Clock,
    rules: &Rules,
    after: Option<&Due>,
    batch: usize,
) -> Result<ExpiryReport, ApiError> {
    let now = clock.now();
    let mut report = ExpiryReport::default();
    let page = store.overdue(now, after, batch).await?;
    report.oldest = page.first().map(|due| due.deadline);
    for due in &page {
        match expire_one(store, metrics, rules, &due.transfer, now).await {
            Ok(Entry::Ended(TransferStatus::Expired)) => report.expired += 1,
            Ok(Entry::Ended(_)) => report.completed += 1,
            Ok(Entry::Reminded) => report.reminded += 1,
            // Its entry is by the whole second: the moment itself is later in that second.
            // The entry stays for the next run.
            Ok(Entry::NotYet) => report.skipped += 1,
            // Ended or gone: its entry must not hide the transfers behind it.
            Ok(Entry::Nothing) => match store.drop_due(due).await {
                Ok(()) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(transfer = due.transfer.as_str(), error = %e, "expirer: index entry not dropped");
                    report.failed += 1;
                }
            },
            // Another expirer, the backstop or a last step got there first.
            Err(ApiError::Store(StoreError::Conflict)) => report.skipped += 1,
            Err(e) => {
                tracing::error!(transfer = due.transfer.as_str(), error = %e, "expirer: request not ended; passed over");
                report.failed += 1;
            }
        }
    }
    report.next = (page.len() == batch)
        .then(|| page.last().cloned())
        .flatten();
    if report.expired + report.completed + report.failed + report.reminded > 0 {
        tracing::info!(
            expired = report.expired,
            completed = report.completed,
            reminded = report.reminded,
            skipped = report.skipped,
            failed = report.failed,
            "expirer page"
        );
    }
    Ok(report)
}

/// Page after page of overdue transfers until none is left or `more_time` says to stop
/// (a Lambda invocation nearing its limit).
pub async fn expire_all_overdue(
    store: &dyn Store,
    metrics: &dyn Metrics,
    clock: &dyn Clock,
    rules: &Rules,
    batch: usize,
    more_time: impl Fn() -> bool,
) -> Result<ExpiryReport, ApiError> {
    let mut total = ExpiryReport::default();
    loop {
        let page = expire_overdue(store, metrics, clock, rules, total.next.as_ref(), batch).await?;
        total.add(&page);
        if total.next.is_none() || !more_time() {
            let lag = total.oldest.map_or(0, |oldest| {
                clock
                    .now()
                    .duration_since(oldest)
                    .as_secs()
                    .max(0)
                    .unsigned_abs()
            });
            metrics.record(Metric::ExpirerRun {
                expired: total.expired as u64,
                lag_seconds: lag,
            });
            return Ok(total);
        }
    }
}

/// What the expirer made of one entry of the index.
enum Entry {
    /// Ended now, with this status.
    Ended(TransferStatus),
    /// Its holders who have not finished were reminded.
    Reminded,
    /// Not quite due: its moment falls later in the entry's second.
    NotYet,
    /// Gone, or ended meanwhile: the entry is stale.
    Nothing,
}

/// Ends one transfer of the index: completed when the wait after a changed number is over
/// with every step taken, otherwise expired past its deadline.
async fn expire_one(
    store: &dyn Store,
    metrics: &dyn Metrics,
    rules: &Rules,
    id: &TransferId,
    now: jiff::Timestamp,
) -> Result<Entry, ApiError> {
    let Some(read) = store.transfer(id).await? else {
        return Ok(Entry::Nothing);
    };
    let system = Actor::system("expirer");
    // A reminder comes before the deadline, so it is looked at first (docs/rules.md,
    // "Reminders"); counted with the invitations sent by hand, within the same limit.
    if let Some((after, to)) = read.value.reminded(now, &CodePolicy::default(), &system) {
        let messages = to
            .iter()
            .map(|party| titolare_domain::steps::reminder(&after, *party, now))
            .collect();
        let change = Change {
            condition: TransferCondition::Unchanged(read.version),
            before: &read.value,
            after: &after,
        };
        let extra = Extra {
            messages,
            ..Extra::default()
        };
        commit(store, metrics, rules, now, change, extra).await?;
        tracing::info!(
            transfer = id.as_str(),
            holders = to.len(),
            "reminder sent by the expirer"
        );
        return Ok(Entry::Reminded);
    }
    let (action, condition) = if read.value.hold_ended(now) {
        (Action::EndHold, TransferCondition::Unchanged(read.version))
    } else {
        (
            Action::Expire,
            TransferCondition::UnchangedPastDeadline(read.version),
        )
    };
    let after = match read
        .value
        .apply(Party::Initiator, &action, now, rules, &system)
    {
        Ok(applied) => applied.transfer,
        Err(StepError::NotOverdue | StepError::HoldPending) => return Ok(Entry::NotYet),
        // Ended meanwhile: its index entry went with the ending.
        Err(_) => return Ok(Entry::Nothing),
    };
    commit(
        store,
        metrics,
        rules,
        now,
        Change {
            condition,
            before: &read.value,
            after: &after,
        },
        Extra::default(),
    )
    .await?;
    tracing::info!(transfer = id.as_str(), status = ?after.status, "request ended by the expirer");
    Ok(Entry::Ended(after.status))
}

/// The TTL backstop: the store removed a transfer (`old` is its last image). If it was still
/// running, it is written again as `expired` with its outcome and notices, once.
pub async fn backstop(
    store: &dyn Store,
    metrics: &dyn Metrics,
    clock: &dyn Clock,
    rules: &Rules,
    old: &Transfer,
) -> Result<bool, ApiError> {
    if old.status.is_ended() {
        return Ok(false);
    }
    let now = clock.now().max(old.deadline);
    let system = Actor::system("ttl-backstop");
    let after = old
        .apply(Party::Initiator, &Action::Expire, now, rules, &system)
        .map_err(|_| ApiError::Conflict(crate::problem::seldom::NOT_OVERDUE))?
        .transfer;
    match commit(
        store,
        metrics,
        rules,
        now,
        Change {
            condition: TransferCondition::Removed,
            before: old,
            after: &after,
        },
        Extra::default(),
    )
    .await
    {
        Ok(()) => {
            tracing::info!(
                transfer = old.id.as_str(),
                "removed request ended by the backstop"
            );
            Ok(true)
        }
        Err(ApiError::Store(StoreError::Conflict)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// An item the provider's inventory changed (`account`'s): if a running transfer of that
/// account holds it and it can no longer change holder there, it leaves the transfer, told
/// to the parties; the last one to go ends it (docs/rules.md, "The inventory"). Whether an
/// item left.
pub async fn inventory_changed(
    store: &dyn Store,
    metrics: &dyn Metrics,
    clock: &dyn Clock,
    rules: &Rules,
    account: &titolare_domain::AccountId,
    item: &titolare_domain::transfer::ItemRef,
) -> Result<bool, ApiError> {
    for _ in 0..ATTEMPTS {
        let Some(ItemLock::InRequest { transfer }) = store.item_lock(item).await? else {
            return Ok(false);
        };
        let Some(read) = store.transfer(&transfer).await? else {
            return Ok(false);
        };
        if read.value.status.is_ended() || read.value.account != *account {
            return Ok(false);
        }
        let state = store
            .items(account, std::slice::from_ref(item))
            .await?
            .pop()
            .flatten();
        let Some(why) = titolare_domain::steps::withdrawal(&read.value, state.as_ref()) else {
            return Ok(false);
        };
        let now = clock.now();
        let action = Action::Withdraw(item.clone(), why);
        // Past its deadline the expirer ends it; nothing to withdraw from.
        let Ok(applied) = read.value.apply(
            Party::Initiator,
            &action,
            now,
            rules,
            &Actor::system("inventory"),
        ) else {
            return Ok(false);
        };
        if !applied.changed {
            return Ok(false);
        }
        let change = Change {
            condition: TransferCondition::Unchanged(read.version),
            before: &read.value,
            after: &applied.transfer,
        };
        match commit(store, metrics, rules, now, change, Extra::default()).await {
            Ok(()) => {
                tracing::info!(
                    transfer = transfer.as_str(),
                    "an item left its transfer: the inventory changed it"
                );
                return Ok(true);
            }
            Err(ApiError::Store(StoreError::Conflict)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::Store(StoreError::Conflict))
}

/// Tries of [`inventory_changed`] against concurrent writes of the transfer.
const ATTEMPTS: usize = 4;
