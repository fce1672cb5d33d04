//! The state machine against a reference model: a plain description of the rules of docs/rules.md,
//! written apart from `steps.rs`. Runs draw mostly each party's next step (decisions of
//! every shape), with a few cancels, waits past a deadline and wrong steps; every answer —
//! the step taken or refused, and why — is compared with the model's. A second test walks
//! every accept/reject matrix of a 3-item request to its end.

use super::tests::{at, decisions, draft};
use super::*;
use crate::holder::Tipo;
use crate::records::AccountId;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PARTIES: [Party; 3] = [Party::Initiator, Party::CurrentHolder, Party::NewHolder];

/// Why the model refuses a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Closed,
    NotYours,
    OutOfOrder,
    AlreadyDone,
    NotOverdue,
    Decisions,
    WrongAccount,
    Conditions,
}

fn refusal(e: &StepError) -> Refusal {
    match e {
        StepError::Closed(_) => Refusal::Closed,
        StepError::Phase(_) => Refusal::NotYours,
        StepError::OutOfOrder(_) => Refusal::OutOfOrder,
        StepError::AlreadyDone => Refusal::AlreadyDone,
        StepError::NotOverdue => Refusal::NotOverdue,
        StepError::Decisions(_) => Refusal::Decisions,
        StepError::WrongAccount => Refusal::WrongAccount,
        StepError::MissingConditions(_) | StepError::UnknownCondition(_) => Refusal::Conditions,
        // The model takes no number changes, stops or unknown usernames (tests.rs covers them).
        e @ (StepError::NumberFixed
        | StepError::NumberTooLate(_)
        | StepError::HoldPending
        | StepError::NotAHolder
        | StepError::UnknownUsername) => unreachable!("not an action of the model: {e}"),
    }
}

/// What a transfer must do, in plain terms.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    status: TransferStatus,
    /// Seconds from the test's origin.
    deadline: i64,
    /// Each party's steps in the order of docs/rules.md, and those done.
    steps: [Vec<Step>; 3],
    done: [Vec<Step>; 3],
    /// Per item: the current holder's and the new holder's answer.
    answers: Vec<(Option<bool>, Option<bool>)>,
    login_named: bool,
}

fn index(party: Party) -> usize {
    match party {
        Party::Initiator => 0,
        Party::CurrentHolder => 1,
        Party::NewHolder => 2,
    }
}

impl Model {
    fn new(azienda: bool, hand_over: bool) -> Self {
        let mut new_holder = vec![Step::Decisions];
        if hand_over {
            new_holder.push(Step::Login);
        }
        if azienda {
            new_holder.push(Step::HolderData);
        }
        new_holder.extend([Step::Contract, Step::Sms, Step::Email]);
        Self {
            status: TransferStatus::Draft,
            deadline: 86_400,
            steps: [
                vec![Step::Sms],
                vec![Step::Decisions, Step::Sms],
                new_holder,
            ],
            done: Default::default(),
            answers: vec![(None, None); 3],
            login_named: hand_over,
        }
    }

    fn ended(&self) -> bool {
        !matches!(self.status, TransferStatus::Draft | TransferStatus::Open)
    }

    fn next(&self, party: Party) -> Option<Step> {
        let i = index(party);
        self.steps[i]
            .iter()
            .copied()
            .find(|s| !self.done[i].contains(s))
    }

    fn finished(&self, party: Party) -> bool {
        self.next(party).is_none()
    }

    /// The outcome of each item once ended: moved if both accepted, on a completion.
    fn outcomes(&self) -> Vec<Option<ItemOutcome>> {
        self.answers
            .iter()
            .map(|(ch, nh)| {
                self.ended().then_some(
                    if self.status == TransferStatus::Completed
                        && *ch == Some(true)
                        && *nh == Some(true)
                    {
                        ItemOutcome::Moved
                    } else {
                        ItemOutcome::Kept
                    },
                )
            })
            .collect()
    }

    /// The model after `party` does `action` at second `now`, or why it refuses; `Ok(None)`
    /// for an identical repeat, which changes nothing.
    fn step(&self, party: Party, action: &Action, now: i64) -> Result<Option<Model>, Refusal> {
        let mut m = self.clone();
        if *action == Action::Expire {
            if self.ended() {
                return Err(Refusal::Closed);
            }
            if now < self.deadline {
                return Err(Refusal::NotOverdue);
            }
            m.status = TransferStatus::Expired;
            return Ok(Some(m));
        }
        if self.ended() || now >= self.deadline {
            return Err(Refusal::Closed);
        }
        if *action == Action::Cancel {
            m.status = TransferStatus::Cancelled;
            return Ok(Some(m));
        }
        let open = self.status == TransferStatus::Open;
        if (party == Party::Initiator) == open {
            return Err(Refusal::NotYours);
        }
        let step = match action {
            Action::Decide(_) => Step::Decisions,
            Action::Login(_) => Step::Login,
            Action::ConfirmHolderData => Step::HolderData,
            Action::AcceptContract(_) => Step::Contract,
            Action::Verified(Channel::Sms) => Step::Sms,
            Action::Verified(Channel::Email) => Step::Email,
            // The model's runs take no withdrawals: steps/tests.rs tests those.
            Action::Cancel
            | Action::Expire
            | Action::Stop
            | Action::EndHold
            | Action::Withdraw(..) => unreachable!(),
        };
        let i = index(party);
        if !self.steps[i].contains(&step) {
            return Err(Refusal::NotYours);
        }
        let answers = |d: &[Decision]| -> Option<Vec<bool>> {
            let names = ["a@pec.it", "b@pec.it", "c.it"];
            if d.len() != 3 {
                return None;
            }
            names
                .iter()
                .map(|n| {
                    let mut of = d.iter().filter(|d| d.item.id == *n);
                    let one = of.next()?;
                    of.next().is_none().then_some(one.accept)
                })
                .collect()
        };
        if self.done[i].contains(&step) {
            let same = match action {
                Action::Decide(d) => answers(d).is_some_and(|a| {
                    a.iter().zip(&self.answers).all(|(new, (ch, nh))| {
                        Some(*new)
                            == if party == Party::CurrentHolder {
                                *ch
                            } else {
                                *nh
                            }
                    })
                }),
                Action::AcceptContract(ids) => {
                    let mut given: Vec<&str> = ids.iter().map(String::as_str).collect();
                    given.sort_unstable();
                    given.dedup();
                    given == ["condizioni-generali", "privacy"]
                }
                Action::Login(account) => account.as_str() == "other",
                Action::ConfirmHolderData => true,
                // A code is verified once; another verification is not a repeat.
                _ => false,
            };
            return if same {
                Ok(None)
            } else {
                Err(Refusal::AlreadyDone)
            };
        }
        if self.next(party) != Some(step) {
            return Err(Refusal::OutOfOrder);
        }
        match action {
            Action::Decide(d) => {
                let given = answers(d).ok_or(Refusal::Decisions)?;
                for (slot, accept) in m.answers.iter_mut().zip(&given) {
                    if party == Party::CurrentHolder {
                        slot.0 = Some(*accept);
                    } else {
                        slot.1 = Some(*accept);
                    }
                }
                m.done[i].push(step);
                if given.iter().all(|a| !a) {
                    m.status = TransferStatus::Rejected;
                    return Ok(Some(m));
                }
            }
            Action::Login(account) => {
                if !(self.login_named && account.as_str() == "other") {
                    return Err(Refusal::WrongAccount);
                }
                m.done[i].push(step);
            }
            Action::AcceptContract(ids) => {
                let known = ["condizioni-generali", "privacy", "marketing"];
                if ids.iter().any(|id| !known.contains(&id.as_str()))
                    || !["condizioni-generali", "privacy"]
                        .iter()
                        .all(|r| ids.iter().any(|id| id == r))
                {
                    return Err(Refusal::Conditions);
                }
                m.done[i].push(step);
            }
            _ => m.done[i].push(step),
        }
        if party == Party::Initiator {
            m.status = TransferStatus::Open;
            m.deadline = now + 5 * 86_400;
        } else if m.finished(Party::CurrentHolder) && m.finished(Party::NewHolder) {
            let any = m
                .answers
                .iter()
                .any(|(ch, nh)| *ch == Some(true) && *nh == Some(true));
            m.status = if any {
                TransferStatus::Completed
            } else {
                TransferStatus::Rejected
            };
        }
        Ok(Some(m))
    }
}

/// What a run draws: mostly a party's next step, sometimes something else.
#[derive(Debug, Clone)]
enum Intent {
    /// The next step of the party that has one (`pick` chooses among them), with decisions
    /// of shape `shape`.
    Next {
        pick: u8,
        shape: u8,
    },
    /// Any action by any party.
    Wrong(Party, u8),
    Cancel(Party),
    Wait(i64),
    Expire,
}

fn intents() -> impl Strategy<Value = Vec<Intent>> {
    let party = prop_oneof![
        Just(Party::Initiator),
        Just(Party::CurrentHolder),
        Just(Party::NewHolder)
    ];
    prop::collection::vec(
        prop_oneof![
            40 => (any::<u8>(), any::<u8>()).prop_map(|(pick, shape)| Intent::Next { pick, shape }),
            3 => (party.clone(), 0u8..12).prop_map(|(p, n)| Intent::Wrong(p, n)),
            2 => party.prop_map(Intent::Cancel),
            3 => prop_oneof![0i64..600, 86_000i64..90_000, 430_000i64..440_000].prop_map(Intent::Wait),
            1 => Just(Intent::Expire),
        ],
        1..60,
    )
}

/// Decisions by shape: mostly all accepted, some mixed, some all rejected.
fn shaped(t: &Transfer, shape: u8) -> Action {
    match shape % 20 {
        0..=10 => decisions(t, [true, true, true]),
        11..=13 => decisions(t, [true, false, true]),
        14..=15 => decisions(t, [false, true, false]),
        _ => decisions(t, [false, false, false]),
    }
}

/// The action that is `step`, as a person would take it.
fn taking(t: &Transfer, step: Step, shape: u8) -> Action {
    match step {
        Step::Decisions => shaped(t, shape),
        Step::Login => Action::Login(AccountId::parse("other").unwrap()),
        Step::HolderData => Action::ConfirmHolderData,
        Step::Contract => {
            Action::AcceptContract(vec!["condizioni-generali".into(), "privacy".into()])
        }
        Step::Sms => Action::Verified(Channel::Sms),
        Step::Email => Action::Verified(Channel::Email),
    }
}

fn wrong(t: &Transfer, n: u8) -> Action {
    match n {
        0 => decisions(t, [true, true, true]),
        1 => Action::Decide(vec![]),
        2 => Action::Login(AccountId::parse("someone").unwrap()),
        3 => Action::Login(AccountId::parse("other").unwrap()),
        4 => Action::ConfirmHolderData,
        5 => Action::AcceptContract(vec!["privacy".into()]),
        6 => Action::AcceptContract(vec![
            "condizioni-generali".into(),
            "privacy".into(),
            "nuova".into(),
        ]),
        7 => Action::AcceptContract(vec!["condizioni-generali".into(), "privacy".into()]),
        8 | 9 => Action::Verified(Channel::Sms),
        10 => Action::Verified(Channel::Email),
        _ => decisions(t, [false, false, false]),
    }
}

/// One run: every answer compared with the model's; the run's ending.
fn run_against_model(
    intents: &[Intent],
    azienda: bool,
    hand_over: bool,
) -> Result<TransferStatus, TestCaseError> {
    let rules = Rules::default();
    let mut t = draft(
        if azienda {
            Tipo::Azienda
        } else {
            Tipo::Privato
        },
        hand_over,
    );
    let mut model = Model::new(azienda, hand_over);
    let mut clock = 0i64;
    for intent in intents {
        let (party, action) = match intent {
            Intent::Wait(s) => {
                clock += s;
                continue;
            }
            Intent::Next { pick, shape } => {
                let ready: Vec<Party> = PARTIES
                    .into_iter()
                    .filter(|p| model.next(*p).is_some())
                    .collect();
                if ready.is_empty() {
                    continue;
                }
                // Before the opening only the initiator has a step to take.
                let ready: Vec<Party> = ready
                    .into_iter()
                    .filter(|p| (*p == Party::Initiator) == (model.status == TransferStatus::Draft))
                    .collect();
                let Some(party) = ready.get(*pick as usize % ready.len().max(1)).copied() else {
                    continue;
                };
                (party, taking(&t, model.next(party).unwrap(), *shape))
            }
            Intent::Wrong(p, n) => (*p, wrong(&t, *n)),
            Intent::Cancel(p) => (*p, Action::Cancel),
            Intent::Expire => (Party::Initiator, Action::Expire),
        };
        clock += 1;
        let expected = model.step(party, &action, clock);
        let got = t.apply(party, &action, at(clock), &rules, &Actor::default());
        match (&expected, &got) {
            (Err(why), Err(e)) => prop_assert_eq!(*why, refusal(e), "{:?} {:?}", party, action),
            (Ok(None), Ok(applied)) => {
                prop_assert!(
                    !applied.changed,
                    "{:?} {:?}: a repeat changes nothing",
                    party,
                    action
                );
            }
            (Ok(Some(next)), Ok(applied)) => {
                prop_assert!(applied.changed);
                let a = &applied.transfer;
                prop_assert_eq!(a.status, next.status, "{:?} {:?}", party, action);
                prop_assert_eq!(a.deadline, at(next.deadline));
                for p in PARTIES {
                    prop_assert_eq!(a.steps_done(p), &next.done[index(p)][..], "{:?}", p);
                }
                let answers: Vec<_> = a
                    .items
                    .iter()
                    .map(|i| (i.current_holder, i.new_holder))
                    .collect();
                prop_assert_eq!(answers, next.answers.clone());
                let outcomes: Vec<_> = a.items.iter().map(|i| i.outcome).collect();
                prop_assert_eq!(outcomes, next.outcomes());
                model = next.clone();
                t = applied.transfer.clone();
            }
            _ => prop_assert!(
                false,
                "{:?} {:?}: model {:?}, machine {:?}",
                party,
                action,
                expected,
                got.map(|a| a.transfer.status)
            ),
        }
    }
    // A transfer nobody finishes ends at its deadline: the expirer comes by then.
    let late = clock.max(model.deadline);
    if !model.ended() {
        let next = model.step(Party::Initiator, &Action::Expire, late);
        let got = t.apply(
            Party::Initiator,
            &Action::Expire,
            at(late),
            &rules,
            &Actor::default(),
        );
        prop_assert_eq!(
            next.map(|m| m.map(|m| m.status)),
            got.map(|a| Some(a.transfer.status))
                .map_err(|e| refusal(&e))
        );
        return Ok(TransferStatus::Expired);
    }
    Ok(t.status)
}

#[test]
fn the_machine_answers_as_the_model_and_runs_reach_every_ending() {
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        ..Config::default()
    });
    let counts = std::cell::RefCell::new(std::collections::BTreeMap::<String, u32>::new());
    runner
        .run(
            &(intents(), any::<bool>(), any::<bool>()),
            |(intents, azienda, hand_over)| {
                let status = run_against_model(&intents, azienda, hand_over)?;
                *counts
                    .borrow_mut()
                    .entry(format!("{status:?}"))
                    .or_default() += 1;
                Ok(())
            },
        )
        .unwrap();
    let counts = counts.into_inner();
    let total: u32 = counts.values().sum();
    let shares: Vec<String> = counts
        .iter()
        .map(|(ending, n)| format!("{ending} {n} ({} %)", n * 100 / total))
        .collect();
    println!(
        "transfer model runs: {total}, every answer as the model's — {}",
        shares.join(", ")
    );
    for ending in ["Completed", "Rejected", "Expired", "Cancelled"] {
        let n = counts.get(ending).copied().unwrap_or(0);
        assert!(
            n * 10 >= total,
            "{ending}: {n} of {total} runs, under 10 %: {counts:?}"
        );
    }
}

/// Every accept/reject matrix of a 3-item request, both holders, to its end: an item moves
/// exactly when both accepted it; none moving ends the transfer rejected.
#[test]
fn every_decision_matrix_of_three_items() {
    for current in 0u8..8 {
        for new in 0u8..8 {
            let bits = |n: u8| [n & 1 != 0, n & 2 != 0, n & 4 != 0];
            let (c, n) = (bits(current), bits(new));
            let rules = Rules::default();
            let go = |t: &Transfer, p, a, s| {
                t.apply(p, &a, at(s), &rules, &Actor::default())
                    .map(|a| a.transfer)
            };
            let mut t = go(
                &draft(Tipo::Privato, false),
                Party::Initiator,
                Action::Verified(Channel::Sms),
                1,
            )
            .unwrap();
            t = go(&t, Party::CurrentHolder, decisions(&t, c), 2).unwrap();
            if c == [false; 3] {
                assert_eq!(t.status, TransferStatus::Rejected, "{c:?}");
                continue;
            }
            t = go(&t, Party::CurrentHolder, Action::Verified(Channel::Sms), 3).unwrap();
            t = go(&t, Party::NewHolder, decisions(&t, n), 4).unwrap();
            if n == [false; 3] {
                assert_eq!(t.status, TransferStatus::Rejected, "{n:?}");
                continue;
            }
            t = go(
                &t,
                Party::NewHolder,
                Action::AcceptContract(vec!["condizioni-generali".into(), "privacy".into()]),
                5,
            )
            .unwrap();
            t = go(&t, Party::NewHolder, Action::Verified(Channel::Sms), 6).unwrap();
            t = go(&t, Party::NewHolder, Action::Verified(Channel::Email), 7).unwrap();
            let moved: Vec<bool> = c.iter().zip(&n).map(|(a, b)| *a && *b).collect();
            let outcomes: Vec<_> = t
                .items
                .iter()
                .map(|i| i.outcome == Some(ItemOutcome::Moved))
                .collect();
            assert_eq!(outcomes, moved, "{c:?} × {n:?}");
            let expected = if moved.iter().any(|m| *m) {
                TransferStatus::Completed
            } else {
                TransferStatus::Rejected
            };
            assert_eq!(t.status, expected, "{c:?} × {n:?}");
        }
    }
}
