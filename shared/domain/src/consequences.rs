//! Everything one step of a transfer writes, decided here as one value: the transfer, its
//! messages and operation entries, on a completion the items that change holder (and the new
//! holder's profile copied with them), and the table's bookkeeping — the account's list line,
//! the items' locks, the index by deadline and the outcome marker. The API reads only what a
//! completion needs first ([`Reads`]) and adds what its call brings (a challenge, send logs, an
//! idempotent answer); the store only turns the value into items (docs/architecture.md).

use crate::holder::Holder;
use crate::ports::{
    DueWrite, ItemLock, ItemState, ItemWrite, LockWrite, TransferCommit, TransferCondition,
    TransferSummary, Versioned,
};
use crate::steps::{Rules, effects, moved_mailbox};
use crate::transfer::{Transfer, TransferStatus};
use jiff::Timestamp;

/// What a completion needs from the store before its consequences can be decided.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    /// Each moved item as stored (`Transfer::moved`'s order); `None`: no longer there.
    pub moved: Vec<Option<ItemState>>,
    /// The new holder's profile to copy into the account management goes to, when that
    /// account has none of its own yet (`hand_over`).
    pub profile_copy: Option<Holder>,
}

/// A moved item is no longer in the account: the transfer cannot complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Self::DETAIL)]
pub struct ItemGone;

impl ItemGone {
    pub const DETAIL: &str = "Un elemento della richiesta non è più nell'account: la richiesta non può concludersi. Il richiedente può annullarla e, se serve, avviarne una nuova.";
}

/// Whether going from `before` to `after` completes the transfer, and so needs [`Reads`].
pub fn completes(before: Option<&Transfer>, after: &Transfer) -> bool {
    after.status == TransferStatus::Completed && !before.is_some_and(|b| b.status.is_ended())
}

/// The step from `before` (`None`: a new draft) to `after` at `now`, with all it causes.
pub fn commit<'a>(
    condition: TransferCondition,
    before: Option<&Transfer>,
    after: &'a Transfer,
    now: Timestamp,
    rules: &Rules,
    reads: Reads,
) -> Result<TransferCommit<'a>, ItemGone> {
    let completed = completes(before, after);
    let post_change_lock = rules
        .post_change_lock
        .filter(|_| completed)
        .map(|d| now + d);
    let mut commit = bookkept(condition, before, after, post_change_lock);
    let fx = before
        .map(|b| effects(Some(b), after, now))
        .unwrap_or_default();
    commit.messages = fx.messages;
    commit.operations = fx.operations;
    if completed {
        commit.items = moves(after, reads.moved, now)?;
        commit.holders = reads
            .profile_copy
            .map(|h| (after.target_account().clone(), h))
            .into_iter()
            .collect();
    }
    Ok(commit)
}

/// The transfer with the table's bookkeeping of the step: its list line, locks (a moved item
/// locked until `post_change_lock`, by policy), index entries and outcome marker. `commit`
/// adds messages, operations and moves; the store's conformance suite uses this alone.
pub fn bookkept<'a>(
    condition: TransferCondition,
    before: Option<&Transfer>,
    after: &'a Transfer,
    post_change_lock: Option<Timestamp>,
) -> TransferCommit<'a> {
    let mut commit = TransferCommit::new(condition, after);
    commit.list_line = list_line(before, after);
    commit.locks = locks(before, after, post_change_lock);
    commit.due = due(before, after);
    if before.is_none() {
        commit.lookups = after.support_keys();
    }
    let was_running = before.is_some_and(|b| !b.status.is_ended());
    commit.outcome =
        (after.status.is_ended() && (before.is_none() || was_running)).then_some(after.status);
    commit
}

/// Each moved item as it becomes: the new holder (and account, with `hand_over`); a mailbox
/// also needs a new password and starts with an empty access history.
fn moves(
    after: &Transfer,
    moved: Vec<Option<ItemState>>,
    now: Timestamp,
) -> Result<Vec<ItemWrite>, ItemGone> {
    moved
        .into_iter()
        .map(|state| {
            let before = state.ok_or(ItemGone)?;
            let changed = match &before {
                ItemState::Mailbox(m) => ItemState::Mailbox(Versioned {
                    value: moved_mailbox(&m.value, after, now),
                    version: m.version,
                }),
                ItemState::Domain(d) => {
                    let mut value = d.value.clone();
                    value.holder_id = after.new_holder_card.id.clone();
                    ItemState::Domain(Versioned {
                        value,
                        version: d.version,
                    })
                }
            };
            Ok(ItemWrite {
                before,
                after: changed,
                to: after.target_account().clone(),
            })
        })
        .collect()
}

/// The account's list line, when the step changes it: most steps leave it as it is, and
/// writing it again would cost two write units for nothing.
fn list_line(before: Option<&Transfer>, after: &Transfer) -> Option<TransferSummary> {
    let line = TransferSummary::from(after);
    let unchanged =
        before.is_some_and(|b| TransferSummary::from(b) == line && b.ttl() == after.ttl());
    (!unchanged).then_some(line)
}

/// Locks: taken with the draft, moved to the new deadline when it opens, freed by an ending
/// before the deadline (or turned into a post-change lock for the moved items, by policy).
/// After the deadline they have lapsed by themselves.
fn locks(
    before: Option<&Transfer>,
    after: &Transfer,
    post_change_lock: Option<Timestamp>,
) -> Vec<LockWrite> {
    let was_running = before.is_some_and(|b| !b.status.is_ended());
    let running = !after.status.is_ended();
    let in_transfer = ItemLock::InRequest {
        transfer: after.id.clone(),
    };
    let withdrawn = |t: &Transfer, i: &crate::transfer::TransferItem| {
        t.items
            .iter()
            .any(|o| o.item == i.item && o.outcome == Some(crate::transfer::ItemOutcome::Withdrawn))
    };
    let hold = |fresh: bool| {
        after
            .items
            .iter()
            .filter(|i| !withdrawn(after, i))
            .map(|i| LockWrite::Put {
                item: i.item.clone(),
                lock: in_transfer.clone(),
                until: after.ttl(),
                fresh,
            })
            .collect()
    };
    if before.is_none() && running {
        return hold(true);
    }
    if was_running && running && before.is_some_and(|b| b.deadline != after.deadline) {
        return hold(false);
    }
    // An item withdrawn from a transfer that goes on is free at once (its lock held only it).
    if let (Some(b), true) = (before, was_running && running) {
        return after
            .items
            .iter()
            .filter(|i| withdrawn(after, i) && !withdrawn(b, i))
            .map(|i| LockWrite::Free {
                item: i.item.clone(),
            })
            .collect();
    }
    if !(was_running && !running && after.status != TransferStatus::Expired) {
        return Vec::new();
    }
    after
        .items
        .iter()
        // A lock freed when its item was withdrawn is not freed again.
        .filter(|i| before.is_none_or(|b| !withdrawn(b, i)))
        .map(|i| {
            let moved = after.moved().any(|m| *m == i.item);
            match post_change_lock.filter(|_| moved) {
                Some(until) => LockWrite::Put {
                    item: i.item.clone(),
                    lock: ItemLock::RecentChange {
                        transfer: after.id.clone(),
                        until,
                    },
                    until,
                    fresh: false,
                },
                None => LockWrite::Free {
                    item: i.item.clone(),
                },
            }
        })
        .collect()
}

/// The index by deadline holds running transfers only, each at its deadline or, once every
/// step is taken, at the end of a hold after a changed number.
fn due(before: Option<&Transfer>, after: &Transfer) -> Vec<DueWrite> {
    let old = before.and_then(Transfer::due_at);
    let new = after.due_at();
    if old == new {
        return Vec::new();
    }
    old.map(DueWrite::Drop)
        .into_iter()
        .chain(new.map(DueWrite::Put))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::holder::Tipo;
    use crate::otp::{Channel, Party};
    use crate::steps::Action;
    use crate::steps::tests::{at, decisions, draft, full, run};

    fn step<'a>(
        before: &Transfer,
        after: &'a Transfer,
        rules: &Rules,
        reads: Reads,
    ) -> TransferCommit<'a> {
        commit(
            TransferCondition::Unchanged(1),
            Some(before),
            after,
            at(50),
            rules,
            reads,
        )
        .unwrap()
    }

    #[test]
    fn a_draft_takes_fresh_locks_enters_the_index_and_the_list() {
        let t = draft(Tipo::Privato, false);
        let c = commit(
            TransferCondition::New,
            None,
            &t,
            at(0),
            &Rules::default(),
            Reads::default(),
        )
        .unwrap();
        assert_eq!(c.locks.len(), 3);
        assert!(c.locks.iter().all(
            |l| matches!(l, LockWrite::Put { fresh: true, until, .. } if *until == t.deadline)
        ));
        assert_eq!(c.due, [DueWrite::Put(t.deadline)]);
        assert!(c.list_line.is_some() && c.outcome.is_none() && c.messages.is_empty());
    }

    #[test]
    fn opening_moves_locks_and_index_to_the_deadline_and_invites_both_holders() {
        let t = draft(Tipo::Privato, false);
        let open = run(&t, Party::Initiator, Action::Verified(Channel::Sms), 10).unwrap();
        let c = step(&t, &open, &Rules::default(), Reads::default());
        assert!(c.locks.iter().all(
            |l| matches!(l, LockWrite::Put { fresh: false, until, .. } if *until == open.deadline)
        ));
        // The index entry moves to the first reminder, 48 hours before the deadline.
        let first_reminder = open.deadline - jiff::SignedDuration::from_hours(48);
        assert_eq!(
            c.due,
            [DueWrite::Drop(t.deadline), DueWrite::Put(first_reminder)]
        );
        assert_eq!(c.messages.len(), 2, "an invitation to each holder");
        // A decision changes neither the list line, the locks nor the index.
        let decided = run(&open, Party::CurrentHolder, decisions(&open, [true; 3]), 11).unwrap();
        let c = step(&open, &decided, &Rules::default(), Reads::default());
        assert!(c.list_line.is_none() && c.locks.is_empty() && c.due.is_empty());
        assert!(c.outcome.is_none() && c.messages.is_empty() && c.items.is_empty());
    }

    #[test]
    fn a_completion_moves_what_both_accepted_and_turns_locks_by_policy() {
        let done = full(draft(Tipo::Privato, false), [true; 3], [true, false, true]);
        let mut before = done.clone();
        before.status = TransferStatus::Open;
        before.ended_at = None;
        before.retain_until = None;
        for i in &mut before.items {
            i.outcome = None;
        }
        assert!(completes(Some(&before), &done));
        // Both moved items must be read first.
        assert_eq!(
            commit(
                TransferCondition::Unchanged(1),
                Some(&before),
                &done,
                at(50),
                &Rules::default(),
                Reads {
                    moved: vec![None, None],
                    profile_copy: None
                }
            )
            .err(),
            Some(ItemGone)
        );
        let rules = Rules {
            post_change_lock: Some(jiff::SignedDuration::from_hours(24 * 60)),
            ..Rules::default()
        };
        let c = step(&before, &done, &rules, Reads::default());
        let recent = c
            .locks
            .iter()
            .filter(|l| {
                matches!(
                    l,
                    LockWrite::Put {
                        lock: ItemLock::RecentChange { .. },
                        ..
                    }
                )
            })
            .count();
        let freed = c
            .locks
            .iter()
            .filter(|l| matches!(l, LockWrite::Free { .. }))
            .count();
        assert_eq!(
            (recent, freed),
            (2, 1),
            "the moved items stay locked, the kept one is free"
        );
        assert_eq!(c.due, [DueWrite::Drop(before.due_at().unwrap())]);
        assert_eq!(c.outcome, Some(TransferStatus::Completed));
        assert_eq!(c.operations.len(), 1);
    }

    #[test]
    fn an_expiry_frees_no_lock_and_a_repeat_ending_writes_no_outcome() {
        let t = draft(Tipo::Privato, false);
        let open = run(&t, Party::Initiator, Action::Verified(Channel::Sms), 10).unwrap();
        let mut expired = open.clone();
        expired.status = TransferStatus::Expired;
        let c = step(&open, &expired, &Rules::default(), Reads::default());
        assert!(c.locks.is_empty(), "they lapse with the deadline");
        assert_eq!(c.outcome, Some(TransferStatus::Expired));
        let again = step(&expired, &expired, &Rules::default(), Reads::default());
        assert!(again.outcome.is_none() && again.due.is_empty() && again.messages.is_empty());
    }
}
