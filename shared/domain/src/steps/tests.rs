use super::*;
use crate::holder::{HolderId, Lingua, Tipo};
use crate::records::AccountId;
use crate::values::{EmailAddress, MobileNumber};
use proptest::prelude::*;

const T0: i64 = 1_795_420_800;

pub(crate) fn at(s: i64) -> Timestamp {
    Timestamp::from_second(T0 + s).unwrap()
}

fn card(id: u64, tipo: Tipo) -> HolderCard {
    HolderCard {
        id: HolderId::from_number(id),
        tipo,
        name: format!("titolare {id}"),
        ragione_sociale: (tipo == Tipo::Azienda).then(|| "Test Srl".into()),
        codice_fiscale: None,
        partita_iva: None,
    }
}

pub(crate) fn draft(new_tipo: Tipo, hand_over: bool) -> Transfer {
    let contact = |n: u32| {
        Contact::new(
            MobileNumber::parse(&format!("+39 333 000 {n:04}")).unwrap(),
            EmailAddress::parse(&format!("p{n}@example.it")).unwrap(),
            Lingua::It,
            None,
        )
    };
    let item = |kind, id: &str| TransferItem {
        item: ItemRef::parse(kind, id).unwrap(),
        current_holder: None,
        new_holder: None,
        outcome: None,
    };
    Transfer {
        id: TransferId::from_number(7),
        account: AccountId::parse("acc").unwrap(),
        status: TransferStatus::Draft,
        created_at: at(0),
        deadline: at(0) + Rules::default().draft_for,
        initiator: contact(1),
        current_holder: contact(2),
        new_holder: contact(3),
        current_holder_card: card(19, Tipo::Privato),
        new_holder_card: card(20, new_tipo),
        management: if hand_over {
            Management::HandOver {
                username: "other".into(),
                account: Some(AccountId::parse("other").unwrap()),
            }
        } else {
            Management::Keep
        },
        items: vec![
            item(ItemKind::Mailbox, "a@pec.it"),
            item(ItemKind::Mailbox, "b@pec.it"),
            item(ItemKind::Domain, "c.it"),
        ],
        progress: Progress::default(),
        ended_at: None,
        retain_until: None,
        audit: vec![],
        audit_omitted: 0,
        hold_until: None,
        reminders: Vec::new(),
        platform: Vec::new(),
    }
}

pub(crate) fn decisions(t: &Transfer, accept: [bool; 3]) -> Action {
    Action::Decide(
        t.items
            .iter()
            .zip(accept)
            .map(|(i, accept)| Decision {
                item: i.item.clone(),
                accept,
            })
            .collect(),
    )
}

pub(crate) fn run(
    t: &Transfer,
    party: Party,
    action: Action,
    s: i64,
) -> Result<Transfer, StepError> {
    t.apply(party, &action, at(s), &Rules::default(), &Actor::default())
        .map(|a| a.transfer)
}

fn required() -> Action {
    Action::AcceptContract(vec!["condizioni-generali".into(), "privacy".into()])
}

/// Draft → open → both parties through every step.
pub(crate) fn full(t: Transfer, current: [bool; 3], new: [bool; 3]) -> Transfer {
    let mut t = run(&t, Party::Initiator, Action::Verified(Channel::Sms), 10).unwrap();
    t = run(&t, Party::CurrentHolder, decisions(&t, current), 20).unwrap();
    t = run(&t, Party::CurrentHolder, Action::Verified(Channel::Sms), 30).unwrap();
    t = run(&t, Party::NewHolder, decisions(&t, new), 40).unwrap();
    if matches!(t.management, Management::HandOver { .. }) {
        t = run(
            &t,
            Party::NewHolder,
            Action::Login(AccountId::parse("other").unwrap()),
            45,
        )
        .unwrap();
    }
    if !t.new_holder_card.tipo.is_natural_person() {
        t = run(&t, Party::NewHolder, Action::ConfirmHolderData, 50).unwrap();
    }
    t = run(&t, Party::NewHolder, required(), 60).unwrap();
    t = run(&t, Party::NewHolder, Action::Verified(Channel::Sms), 70).unwrap();
    run(&t, Party::NewHolder, Action::Verified(Channel::Email), 80).unwrap()
}

#[test]
fn a_full_flow_moves_what_both_accepted() {
    let t = full(
        draft(Tipo::Azienda, false),
        [true, true, true],
        [true, false, true],
    );
    assert_eq!(t.status, TransferStatus::Completed);
    let outcomes: Vec<_> = t.items.iter().map(|i| i.outcome).collect();
    use ItemOutcome::*;
    assert_eq!(outcomes, [Some(Moved), Some(Kept), Some(Moved)]);
    assert_eq!(
        t.deadline,
        at(10) + Rules::default().open_for,
        "5 days from verification"
    );
    assert_eq!(t.ttl(), t.deadline + Rules::default().retention);
    let fx = effects(None, &t, at(80));
    assert!(
        fx.messages.is_empty(),
        "effects are computed from the state before"
    );
    let mut before = t.clone();
    before.status = TransferStatus::Open;
    let fx = effects(Some(&before), &t, at(80));
    let kinds: Vec<_> = fx.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "7-confirmation-initiator",
            "7-confirmation-current_holder",
            "7-confirmation-new_holder",
            "7-password-reset-new_holder"
        ]
    );
    assert_eq!(fx.operations.len(), 1);
    assert!(
        t.audit
            .iter()
            .any(|a| a.action == AuditAction::EndedCompleted)
    );
}

/// A `hand_over` draft whose username was not found when the initiator verified stays a
/// draft; with the account found it opens.
#[test]
fn a_draft_opens_only_with_the_hand_over_account_found() {
    let mut unknown = draft(Tipo::Privato, true);
    unknown.management = Management::HandOver {
        username: "nessuno".into(),
        account: None,
    };
    assert_eq!(
        run(
            &unknown,
            Party::Initiator,
            Action::Verified(Channel::Sms),
            10
        ),
        Err(StepError::UnknownUsername)
    );
    let found = run(
        &draft(Tipo::Privato, true),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        10,
    )
    .unwrap();
    assert_eq!(found.status, TransferStatus::Open);
}

#[test]
fn nothing_accepted_by_both_ends_rejected() {
    let t = full(
        draft(Tipo::Privato, false),
        [true, false, false],
        [false, true, true],
    );
    assert_eq!(t.status, TransferStatus::Rejected);
    assert!(t.moved().next().is_none());
}

#[test]
fn rejecting_everything_ends_at_once() {
    let t = run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        1,
    )
    .unwrap();
    let ended = run(&t, Party::NewHolder, decisions(&t, [false; 3]), 2).unwrap();
    assert_eq!(ended.status, TransferStatus::Rejected);
    let fx = effects(Some(&t), &ended, at(2));
    let told: Vec<Party> = fx
        .messages
        .iter()
        .map(|m| match &m.message {
            crate::outbox::Message::Rejection { by, .. } => {
                assert_eq!(*by, Some(Party::NewHolder), "names who rejected");
                m.id.rsplit('-').next().map(|p| match p {
                    "initiator" => Party::Initiator,
                    "current_holder" => Party::CurrentHolder,
                    _ => Party::NewHolder,
                })
            }
            other => panic!("unexpected {other:?}"),
        })
        .map(Option::unwrap)
        .collect();
    assert_eq!(
        told,
        [Party::Initiator, Party::CurrentHolder, Party::NewHolder],
        "the initiator and both holders are told"
    );
    assert_eq!(
        run(&ended, Party::CurrentHolder, decisions(&t, [true; 3]), 3),
        Err(StepError::Closed(Closed::Ended(TransferStatus::Rejected)))
    );
}

#[test]
fn steps_keep_their_order_and_repeat_harmlessly() {
    let t = run(
        &draft(Tipo::Azienda, true),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        1,
    )
    .unwrap();
    assert!(matches!(
        run(&t, Party::NewHolder, required(), 2),
        Err(StepError::OutOfOrder(_))
    ));
    let d = decisions(&t, [true; 3]);
    let once = run(&t, Party::NewHolder, d.clone(), 2).unwrap();
    let again = once
        .apply(
            Party::NewHolder,
            &d,
            at(3),
            &Rules::default(),
            &Actor::default(),
        )
        .unwrap();
    assert!(!again.changed);
    assert_eq!(again.transfer, once);
    assert_eq!(
        run(
            &once,
            Party::NewHolder,
            decisions(&t, [true, true, false]),
            3
        ),
        Err(StepError::AlreadyDone)
    );
    assert_eq!(
        run(
            &once,
            Party::NewHolder,
            Action::Login(AccountId::parse("acc").unwrap()),
            4
        ),
        Err(StepError::WrongAccount)
    );
    let logged = run(
        &once,
        Party::NewHolder,
        Action::Login(AccountId::parse("other").unwrap()),
        4,
    )
    .unwrap();
    let confirmed = run(&logged, Party::NewHolder, Action::ConfirmHolderData, 5).unwrap();
    assert_eq!(
        run(
            &confirmed,
            Party::NewHolder,
            Action::AcceptContract(vec!["privacy".into()]),
            6
        ),
        Err(StepError::MissingConditions(
            "«Condizioni generali di contratto del servizio PEC»".into()
        ))
    );
    assert_eq!(
        run(
            &confirmed,
            Party::NewHolder,
            Action::AcceptContract(vec!["x".into()]),
            6
        ),
        Err(StepError::UnknownCondition("x".into()))
    );
    let accepted = run(&confirmed, Party::NewHolder, required(), 6).unwrap();
    assert_eq!(accepted.progress.accepted_conditions.len(), 2);
    assert_eq!(accepted.progress.accepted_conditions[0].version, "2026-01");
}

#[test]
fn decisions_name_every_item_once() {
    let t = run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        1,
    )
    .unwrap();
    let Action::Decide(mut d) = decisions(&t, [true; 3]) else {
        unreachable!()
    };
    d.pop();
    assert!(matches!(
        run(&t, Party::CurrentHolder, Action::Decide(d.clone()), 2),
        Err(StepError::Decisions(_))
    ));
    d.push(d[0].clone());
    assert!(matches!(
        run(&t, Party::CurrentHolder, Action::Decide(d), 2),
        Err(StepError::Decisions(_))
    ));
}

#[test]
fn the_deadline_is_to_the_second() {
    let t = run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        0,
    )
    .unwrap();
    let last = Rules::default().open_for.as_secs() - 1;
    assert!(run(&t, Party::CurrentHolder, decisions(&t, [true; 3]), last).is_ok());
    assert_eq!(
        run(&t, Party::CurrentHolder, decisions(&t, [true; 3]), last + 1),
        Err(StepError::Closed(Closed::DeadlinePassed))
    );
    assert_eq!(
        run(&t, Party::Initiator, Action::Expire, last),
        Err(StepError::NotOverdue)
    );
    let expired = run(&t, Party::Initiator, Action::Expire, last + 1).unwrap();
    assert_eq!(expired.status, TransferStatus::Expired);
    assert_eq!(expired.audit.last().unwrap().party, None);
    assert!(
        run(&expired, Party::Initiator, Action::Expire, last + 2).is_err(),
        "once"
    );
    let draft_expired = run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Expire,
        86_400,
    )
    .unwrap();
    let fx = effects(
        Some(&draft(Tipo::Privato, false)),
        &draft_expired,
        at(86_400),
    );
    // Holders of a draft were never invited: only the initiator hears of it.
    assert_eq!(fx.messages.len(), 1);
    assert!(fx.messages[0].id.ends_with("-initiator"));
    assert!(matches!(
        fx.messages[0].message,
        crate::outbox::Message::Expiry { draft: true, .. }
    ));
    assert_eq!(fx.operations.len(), 1);
}

#[derive(Debug, Clone)]
enum Move {
    Act(Party, u8),
    Wait(i64),
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    let party = prop_oneof![
        Just(Party::Initiator),
        Just(Party::CurrentHolder),
        Just(Party::NewHolder)
    ];
    prop::collection::vec(
        prop_oneof![
            4 => (party, 0u8..12).prop_map(|(p, a)| Move::Act(p, a)),
            1 => prop_oneof![0i64..120, 86_000i64..90_000, 400_000i64..440_000].prop_map(Move::Wait),
        ],
        1..40,
    )
}

fn action(t: &Transfer, n: u8) -> Action {
    match n {
        0 => decisions(t, [true, true, true]),
        1 => decisions(t, [true, false, true]),
        2 => decisions(t, [false, false, false]),
        3 => Action::Login(AccountId::parse("other").unwrap()),
        4 => Action::ConfirmHolderData,
        5 => required(),
        6 | 7 => Action::Verified(Channel::Sms),
        8 => Action::Verified(Channel::Email),
        9 => Action::Cancel,
        10 => Action::Expire,
        _ => decisions(t, [false, true, false]),
    }
}

proptest! {
    // Random moves, mostly refused: the invariants must hold on refusals too. The runs that
    // reach every ending are the reference-model test's (model_tests.rs); 500 cases here.
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn invariants_hold_for_any_sequence(
        moves in moves(),
        azienda in any::<bool>(),
        hand_over in any::<bool>(),
    ) {
        let rules = Rules::default();
        let mut t = draft(if azienda { Tipo::Azienda } else { Tipo::Privato }, hand_over);
        let mut clock = 0i64;
        let mut endings = 0;
        for m in moves {
            let party_action = match m {
                Move::Wait(s) => { clock += s; continue; }
                Move::Act(p, a) => (p, action(&t, a)),
            };
            let (party, act) = party_action;
            let now = at(clock);
            let before = t.clone();
            if let Ok(applied) = t.apply(party, &act, now, &rules, &Actor::default()) {
                prop_assert!(!before.status.is_ended(), "no step after an ending");
                if act == Action::Expire {
                    prop_assert!(now >= before.deadline);
                } else {
                    prop_assert!(now < before.deadline, "the deadline is never exceeded");
                }
                if applied.changed {
                    if applied.transfer.status.is_ended() { endings += 1; }
                } else {
                    prop_assert_eq!(&applied.transfer, &before);
                }
                t = applied.transfer;
            }
            prop_assert!(endings <= 1, "an ending happens once");
            for item in &t.items {
                if item.outcome == Some(ItemOutcome::Moved) {
                    prop_assert_eq!(t.status, TransferStatus::Completed);
                    prop_assert_eq!((item.current_holder, item.new_holder), (Some(true), Some(true)));
                    prop_assert!(t.finished(Party::CurrentHolder) && t.finished(Party::NewHolder));
                }
            }
            if t.status.is_ended() {
                prop_assert!(t.items.iter().all(|i| i.outcome.is_some()));
                prop_assert!(t.ttl() >= t.deadline);
            }
        }
    }
}

/// The reminders are set when the request opens (48 and 24 hours before its deadline),
/// bring the due moment forward, go to each holder with steps left within the invitation
/// limit, and a late run sends one for every moment passed.
#[test]
fn reminders_go_to_the_holders_who_have_not_finished() {
    let policy = crate::otp::CodePolicy::default();
    let actor = Actor::system("test");
    let opened = run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        1,
    )
    .unwrap();
    let hours = |h: i64| jiff::SignedDuration::from_hours(h);
    assert_eq!(
        opened.reminders,
        [opened.deadline - hours(48), opened.deadline - hours(24)]
    );
    assert_eq!(opened.due_at(), Some(opened.deadline - hours(48)));
    let first = opened.reminders[0];
    assert!(
        opened.reminded(first - hours(1), &policy, &actor).is_none(),
        "not yet"
    );
    let (t, to) = opened.reminded(first, &policy, &actor).unwrap();
    assert_eq!(to, [Party::CurrentHolder, Party::NewHolder]);
    assert_eq!(
        (t.current_holder.invitations, t.new_holder.invitations),
        (2, 2)
    );
    assert_eq!(t.due_at(), Some(opened.reminders[1]));
    assert_eq!(t.audit.last().unwrap().action, AuditAction::ReminderSent);
    // The current holder finished meanwhile: the second goes to the new holder only.
    let done = run(&t, Party::CurrentHolder, decisions(&t, [true; 3]), 10).unwrap();
    let done = run(
        &done,
        Party::CurrentHolder,
        Action::Verified(Channel::Sms),
        11,
    )
    .unwrap();
    let (last, to) = done.reminded(opened.reminders[1], &policy, &actor).unwrap();
    assert_eq!(to, [Party::NewHolder]);
    assert!(last.reminders.is_empty());
    assert_eq!(last.due_at(), Some(opened.deadline), "then the deadline");
    // A late run: both moments passed, one reminder.
    let (late, to) = opened
        .reminded(opened.reminders[1] + hours(1), &policy, &actor)
        .unwrap();
    assert_eq!((late.reminders.len(), to.len()), (0, 2));
    assert_eq!(late.new_holder.invitations, 2);
    // Invitations spent by hand: no reminder for that holder, the moment still passes.
    let mut spent = opened.clone();
    spent.new_holder.invitations = policy.max_sends;
    let (_, to) = spent.reminded(first, &policy, &actor).unwrap();
    assert_eq!(to, [Party::CurrentHolder]);
    // A draft has none, an ended request gets none.
    assert!(draft(Tipo::Privato, false).reminders.is_empty());
    let cancelled = run(&opened, Party::Initiator, Action::Cancel, 20).unwrap();
    assert!(cancelled.reminded(first, &policy, &actor).is_none());
}

#[test]
fn invitations_are_limited_and_corrections_renew_the_link_until_verified() {
    use crate::invite::{Correction, InviteError};
    let policy = crate::otp::CodePolicy::default();
    let actor = Actor::system("test");
    let opened = run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        1,
    )
    .unwrap();
    assert_eq!(
        opened.new_holder.invitations, 1,
        "the first goes with the opening"
    );
    assert_eq!(
        opened.reinvited(Party::NewHolder, at(30), &policy, &actor),
        Err(InviteError::TooSoon(31))
    );
    assert_eq!(
        opened.reinvited(Party::Initiator, at(100), &policy, &actor),
        Err(InviteError::NotAHolder)
    );
    let mut t = opened.clone();
    for n in 2..=5 {
        t = t
            .reinvited(Party::NewHolder, at(100 * n), &policy, &actor)
            .unwrap();
        assert_eq!(t.new_holder.invitations, n as u32);
    }
    assert_eq!(
        t.reinvited(Party::NewHolder, at(1_000), &policy, &actor),
        Err(InviteError::TooMany(Party::NewHolder, 5))
    );
    assert_eq!(t.new_holder.link, 0, "a reminder keeps the link");

    let email = EmailAddress::parse("giusto@example.it").unwrap();
    let fix = Correction {
        email: Some(email.clone()),
        ..Correction::default()
    };
    let corrected = opened
        .corrected(Party::NewHolder, &fix, at(100), &policy, &actor)
        .unwrap()
        .unwrap();
    assert_eq!(
        (&corrected.new_holder.email, corrected.new_holder.link),
        (&email, 1)
    );
    let line = corrected.audit.last().unwrap();
    assert_eq!(line.action, AuditAction::ContactCorrected);
    assert!(!line.detail.as_ref().unwrap().contains("giusto@"), "masked");
    assert_eq!(
        corrected.corrected(Party::NewHolder, &fix, at(500), &policy, &actor),
        Ok(None),
        "the same correction again changes nothing"
    );
    // Once the holder verified the mobile, it stays.
    let verified = run(
        &run(
            &opened,
            Party::CurrentHolder,
            Action::Decide(
                opened
                    .items
                    .iter()
                    .map(|i| Decision {
                        item: i.item.clone(),
                        accept: true,
                    })
                    .collect(),
            ),
            2,
        )
        .unwrap(),
        Party::CurrentHolder,
        Action::Verified(Channel::Sms),
        3,
    )
    .unwrap();
    let mobile = Correction {
        mobile: Some(MobileNumber::parse("+39 333 111 2222").unwrap()),
        ..Correction::default()
    };
    assert_eq!(
        verified.corrected(Party::CurrentHolder, &mobile, at(200), &policy, &actor),
        Err(InviteError::Verified(Party::CurrentHolder, Channel::Sms))
    );
}

/// A privato's request of three items, opened by the initiator at second 10.
fn opened() -> Transfer {
    run(
        &draft(Tipo::Privato, false),
        Party::Initiator,
        Action::Verified(Channel::Sms),
        10,
    )
    .unwrap()
}

/// A holder's SMS step at another number than the one on file holds the transfer: it
/// completes only when the expirer ends the wait, the index wakes it then, and a stop by
/// that holder on file rejects it instead.
#[test]
fn another_number_holds_the_completion_until_the_wait_ends() {
    let rules = Rules::default();
    let wait = rules.number_change_hold.unwrap();
    let mut t = opened();
    t = run(&t, Party::CurrentHolder, decisions(&t, [true; 3]), 20).unwrap();
    t = run(&t, Party::CurrentHolder, Action::Verified(Channel::Sms), 30).unwrap();
    t = run(&t, Party::NewHolder, decisions(&t, [true; 3]), 40).unwrap();
    t = run(&t, Party::NewHolder, required(), 60).unwrap();
    let on_file = t.new_holder.mobile.clone();
    let other = MobileNumber::parse("+39 347 555 1212").unwrap();
    assert_eq!(
        t.sms_number(Party::NewHolder, &on_file, at(70), &rules),
        Ok(false)
    );
    assert_eq!(
        t.sms_number(Party::NewHolder, &other, at(70), &rules),
        Ok(true)
    );
    assert_eq!(
        t.sms_number(Party::Initiator, &other, at(70), &rules),
        Ok(false),
        "the initiator is the logged-in account"
    );
    let fixed = Rules {
        number_change_hold: None,
        ..Rules::default()
    };
    assert_eq!(
        t.sms_number(Party::NewHolder, &other, at(70), &fixed),
        Err(StepError::NumberFixed)
    );
    let too_late = t.deadline - wait;
    assert!(matches!(
        t.sms_number(Party::NewHolder, &other, too_late, &rules),
        Err(StepError::NumberTooLate(_))
    ));
    let held = t.held(Party::NewHolder, &other, at(70), &rules, &Actor::default());
    assert_eq!(held.hold_until, Some(at(70) + wait));
    let line = held.audit.last().unwrap();
    assert_eq!(line.action, AuditAction::NumberChanged);
    assert!(!line.is_step(), "a note, not a step");
    assert!(
        !line.detail.as_deref().unwrap().contains("5551212"),
        "masked"
    );
    let mut t = run(&held, Party::NewHolder, Action::Verified(Channel::Sms), 70).unwrap();
    t = run(&t, Party::NewHolder, Action::Verified(Channel::Email), 80).unwrap();
    assert_eq!(t.status, TransferStatus::Open, "every step taken, held");
    assert_eq!(t.due_at(), t.hold_until, "the index wakes the expirer then");
    let end = held.hold_until.unwrap();
    let before_end = end.as_second() - T0 - 1;
    assert!(!t.hold_ended(at(before_end)));
    assert_eq!(
        run(&t, Party::Initiator, Action::EndHold, before_end),
        Err(StepError::HoldPending)
    );
    let done = run(&t, Party::Initiator, Action::EndHold, before_end + 1).unwrap();
    assert_eq!(done.status, TransferStatus::Completed);
    assert_eq!(done.due_at(), None);
    assert_eq!(
        done.audit.last().unwrap().action,
        AuditAction::EndedCompleted
    );
    let ended = &done.audit[done.audit.len() - 2];
    assert_eq!((ended.action, ended.party), (AuditAction::HoldEnded, None));
    // Stopped before the end: the holder's rejection, whatever they had accepted.
    let stopped = run(&t, Party::NewHolder, Action::Stop, before_end).unwrap();
    assert_eq!(stopped.status, TransferStatus::Rejected);
    assert_eq!(stopped.rejected_by(), Some(Party::NewHolder));
    assert!(
        stopped
            .items
            .iter()
            .all(|i| i.outcome == Some(ItemOutcome::Kept))
    );
    assert_eq!(
        run(&t, Party::Initiator, Action::Stop, before_end),
        Err(StepError::NotAHolder)
    );
    assert!(matches!(
        run(&done, Party::NewHolder, Action::Stop, before_end + 2),
        Err(StepError::Closed(_))
    ));
}

/// Security review, test mend M9: past the cap of code events the trail stops taking them
/// (and counts what it left out), while every step and the ending are still written and the
/// request stays far below DynamoDB's 400 KB item limit.
#[test]
fn the_trail_caps_code_events_but_never_steps() {
    let actor = Actor::new(&"r".repeat(100), &"1".repeat(100), &"x".repeat(10 * 1024));
    let mut t = opened();
    let (events, before) = (500, t.audit.len());
    for n in 0..events {
        let detail = format!("sms: Codice errato: restano {} tentativi.", n % 5);
        t = t.noted(
            Party::NewHolder,
            AuditAction::CodeRefused,
            Some(detail),
            at(11),
            &actor,
        );
    }
    let cap = MAX_AUDIT_ENTRIES - AUDIT_LINES_FOR_STEPS;
    assert_eq!(t.audit.len(), cap, "the code events stop at the cap");
    assert_eq!(
        t.audit_omitted as usize,
        events - (cap - before),
        "and are counted"
    );
    t = run(&t, Party::CurrentHolder, decisions(&t, [true; 3]), 20).unwrap();
    t = run(&t, Party::CurrentHolder, Action::Verified(Channel::Sms), 30).unwrap();
    t = run(&t, Party::NewHolder, decisions(&t, [true; 3]), 40).unwrap();
    t = run(&t, Party::NewHolder, required(), 60).unwrap();
    t = run(&t, Party::NewHolder, Action::Verified(Channel::Sms), 70).unwrap();
    t = run(&t, Party::NewHolder, Action::Verified(Channel::Email), 80).unwrap();
    assert_eq!(t.status, TransferStatus::Completed);
    let tail: Vec<AuditAction> = t.audit[cap..].iter().map(|a| a.action).collect();
    assert_eq!(
        tail,
        [
            AuditAction::Decisions,
            AuditAction::SmsVerified,
            AuditAction::Decisions,
            AuditAction::ContractAccepted,
            AuditAction::SmsVerified,
            AuditAction::EmailVerified,
            AuditAction::EndedCompleted,
        ],
        "every step and the ending, past the cap"
    );
    // Every line at its longest request id, address and user agent.
    let bytes = serde_json::to_vec(&t).unwrap().len();
    assert!(bytes < 400 * 1024 * 3 / 4, "{bytes} bytes");
}

/// An item the provider's inventory takes out leaves the transfer: its lock is freed, the
/// parties are told, no decision is asked for it, it never moves; when none is left the
/// transfer ends, told by that notice alone.
#[test]
fn a_withdrawn_item_leaves_the_transfer_and_the_last_one_ends_it() {
    use crate::consequences::bookkept;
    use crate::ports::{LockWrite, TransferCondition};
    let open = opened();
    let first = open.items[0].item.clone();
    let withdraw = |i: &ItemRef, why| Action::Withdraw(i.clone(), why);
    let t = run(
        &open,
        Party::Initiator,
        withdraw(&first, Withdrawal::OtherHolder),
        15,
    )
    .unwrap();
    assert_eq!(t.items[0].outcome, Some(ItemOutcome::Withdrawn));
    assert_eq!(t.status, TransferStatus::Open);
    let line = t.audit.last().unwrap();
    assert_eq!(
        (line.action, line.party),
        (AuditAction::ItemWithdrawn, None)
    );
    assert!(line.detail.as_deref().unwrap().contains("altro titolare"));
    // Again: nothing changes.
    let again = open
        .apply(
            Party::Initiator,
            &withdraw(&first, Withdrawal::Removed),
            at(16),
            &Rules::default(),
            &Actor::default(),
        )
        .unwrap();
    let again = again
        .transfer
        .apply(
            Party::Initiator,
            &withdraw(&first, Withdrawal::Removed),
            at(17),
            &Rules::default(),
            &Actor::default(),
        )
        .unwrap();
    assert!(!again.changed);
    let commit = bookkept(TransferCondition::Unchanged(1), Some(&open), &t, None);
    assert_eq!(
        commit.locks,
        vec![LockWrite::Free {
            item: first.clone()
        }],
        "its lock only"
    );
    let told: Vec<String> = effects(Some(&open), &t, at(15))
        .messages
        .iter()
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(
        told,
        [
            "7-withdrawn-initiator-1",
            "7-withdrawn-current_holder-1",
            "7-withdrawn-new_holder-1"
        ]
    );
    // The holders decide on the two items left; an answer for the withdrawn one is not kept.
    let t = run(
        &t,
        Party::CurrentHolder,
        decisions(&t, [true, true, true]),
        20,
    )
    .unwrap();
    assert_eq!(t.items[0].current_holder, None);
    let two = Action::Decide(
        t.items[1..]
            .iter()
            .map(|i| Decision {
                item: i.item.clone(),
                accept: true,
            })
            .collect(),
    );
    let t = run(&t, Party::CurrentHolder, Action::Verified(Channel::Sms), 30).unwrap();
    let t = run(&t, Party::NewHolder, two, 40).unwrap();
    // The last two go too: the transfer ends, its locks freed once, its notice the only one.
    let t2 = run(
        &t,
        Party::Initiator,
        withdraw(&t.items[1].item, Withdrawal::NotActive),
        41,
    )
    .unwrap();
    let t3 = run(
        &t2,
        Party::Initiator,
        withdraw(&t2.items[2].item, Withdrawal::Removed),
        42,
    )
    .unwrap();
    assert_eq!(t3.status, TransferStatus::Cancelled);
    assert!(t3.all_withdrawn());
    let end = bookkept(TransferCondition::Unchanged(5), Some(&t2), &t3, None);
    assert_eq!(
        end.locks,
        vec![LockWrite::Free {
            item: t3.items[2].item.clone()
        }]
    );
    let fx = effects(Some(&t2), &t3, at(42));
    let kinds: Vec<&str> = fx.messages.iter().map(|m| m.message.kind()).collect();
    assert_eq!(
        kinds,
        ["withdrawn", "withdrawn", "withdrawn"],
        "no cancellation notice besides"
    );
    assert!(matches!(
        fx.messages[0].message,
        Message::Withdrawn { ended: true, .. }
    ));
    assert!(fx.operations[0].1.detail.contains("ritirati dal gestore"));

    // A withdrawn item never moves: the others complete without it.
    let mut t = opened();
    t = run(
        &t,
        Party::Initiator,
        withdraw(&t.items[1].item.clone(), Withdrawal::Removed),
        12,
    )
    .unwrap();
    let t = {
        let mut t = run(
            &t,
            Party::CurrentHolder,
            decisions(&t, [true, true, true]),
            20,
        )
        .unwrap();
        t = run(&t, Party::CurrentHolder, Action::Verified(Channel::Sms), 30).unwrap();
        t = run(&t, Party::NewHolder, decisions(&t, [true, true, true]), 40).unwrap();
        t = run(&t, Party::NewHolder, required(), 60).unwrap();
        t = run(&t, Party::NewHolder, Action::Verified(Channel::Sms), 70).unwrap();
        run(&t, Party::NewHolder, Action::Verified(Channel::Email), 80).unwrap()
    };
    assert_eq!(t.status, TransferStatus::Completed);
    let outcomes: Vec<_> = t.items.iter().map(|i| i.outcome).collect();
    use ItemOutcome::*;
    assert_eq!(outcomes, [Some(Moved), Some(Withdrawn), Some(Moved)]);
    assert!(
        crate::commands::of_completion(&t, at(80))
            .iter()
            .all(|c| c.command.target != t.items[1].item.id)
    );
}
