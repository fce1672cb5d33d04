//! Conformance of the transfers' writes: locks, the index by deadline, completions that
//! move items, and endings that happen once.

use super::*;
use titolare_domain::transfer::*;

fn at(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(s).unwrap()
}

/// A draft of a new account over the given items, with 24 hours to verify it.
fn draft(name: &str, items: &[&ItemRef]) -> Transfer {
    let mut t = sample_transfer(transfer_id(), &account(name), NOW + 86_400);
    t.status = TransferStatus::Draft;
    t.progress = Progress::default();
    t.items = items
        .iter()
        .map(|i| TransferItem {
            item: (*i).clone(),
            current_holder: None,
            new_holder: None,
            outcome: None,
        })
        .collect();
    t
}

async fn create(store: &TableStore, t: &Transfer) -> Result<(), StoreError> {
    store
        .commit(&bookkept(TransferCondition::New, None, t, None))
        .await
}

async fn step(store: &TableStore, before: &Transfer, after: &Transfer) -> Result<(), StoreError> {
    let read = store.transfer(&before.id).await?.unwrap();
    store
        .commit(&bookkept(
            TransferCondition::Unchanged(read.version),
            Some(before),
            after,
            None,
        ))
        .await
}

fn mailbox(name: &str) -> ItemRef {
    ItemRef::parse(ItemKind::Mailbox, &format!("{}@pec.it", unique(name))).unwrap()
}

fn opened(t: &Transfer, now: i64) -> Transfer {
    let mut open = t.clone();
    open.status = TransferStatus::Open;
    open.deadline = at(now + 5 * 86_400);
    open
}

fn ended(t: &Transfer, status: TransferStatus, now: i64) -> Transfer {
    let mut end = t.clone();
    end.status = status;
    end.ended_at = Some(at(now));
    end.retain_until = Some(t.deadline.max(at(now)) + jiff::SignedDuration::from_hours(90 * 24));
    end
}

pub async fn drafts_lock_their_items(b: Arc<dyn ItemBackend>) {
    let (store, clock) = store(b);
    let item = mailbox("locked");
    let first = draft("locks", &[&item]);
    create(&store, &first).await.unwrap();
    assert_eq!(
        store.item_lock(&item).await.unwrap(),
        Some(ItemLock::InRequest {
            transfer: first.id.clone()
        })
    );
    // Read together, in the order asked, with no lock where there is none (the listing's
    // `for_transfer`: one round trip for a page of items).
    let free = mailbox("free");
    let held = Some(ItemLock::InRequest {
        transfer: first.id.clone(),
    });
    assert_eq!(
        store
            .item_locks(&[free.clone(), item.clone()])
            .await
            .unwrap(),
        [None, held.clone()]
    );
    assert_eq!(
        store.item_locks(std::slice::from_ref(&item)).await.unwrap(),
        [held]
    );
    assert!(store.item_locks(&[]).await.unwrap().is_empty());
    let mut second = draft("locks", &[&free, &item]);
    second.account = first.account.clone();
    assert_eq!(create(&store, &second).await, Err(StoreError::Conflict));
    assert!(
        store.transfer(&second.id).await.unwrap().is_none(),
        "nothing half-written"
    );
    // Racing drafts on one item: exactly one gets it.
    let contested = mailbox("contested");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (store, t) = (store.clone(), draft("race", &[&contested]));
        tasks.push(tokio::spawn(async move { create(&store, &t).await }));
    }
    assert_eq!(successes(tasks).await, 1);
    // A draft never verified lets its items go at its deadline, to the second.
    clock.set(NOW + 86_399);
    assert_eq!(create(&store, &second).await, Err(StoreError::Conflict));
    clock.set(NOW + 86_400);
    assert_eq!(store.item_lock(&item).await.unwrap(), None);
    second.deadline = at(NOW + 2 * 86_400);
    create(&store, &second).await.unwrap();
    // Its list shows both, newest first.
    let listed = store
        .transfers(&first.account, &[], &PageRequest::default())
        .await
        .unwrap();
    let ids: Vec<_> = listed.items.iter().map(|t| t.id.clone()).collect();
    assert_eq!(
        ids,
        [second.id.clone()],
        "the lapsed draft's entry lapsed with it"
    );
    // Read together by number, in the order asked, none for a number never used; and found by
    // support's keys, written with each draft (`Transfer::support_keys`).
    let unknown = TransferId::from_number(999_999);
    let read: Vec<TransferId> = store
        .transfers_by_id(&[second.id.clone(), unknown, first.id.clone()])
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(read, [second.id.clone(), first.id.clone()]);
    let by_item = titolare_domain::support::item_key(&item);
    assert_eq!(
        store.support_lookup(&by_item, 10).await.unwrap(),
        [second.id.clone()],
        "the lapsed draft's key lapsed with it"
    );
    // One holder in two requests: by its codice fiscale, the newer first.
    let with_holder = |name: &str| {
        let mut t = draft("locks", &[&mailbox(name)]);
        t.new_holder_card.codice_fiscale = Some("DTSTTD90A01A851Q".into());
        t.deadline = at(NOW + 2 * 86_400);
        t
    };
    let (third, fourth) = (with_holder("third"), with_holder("fourth"));
    create(&store, &third).await.unwrap();
    create(&store, &fourth).await.unwrap();
    assert_eq!(
        store
            .support_lookup(
                &titolare_domain::support::fiscal_key("dtsttd90a01a851q"),
                10
            )
            .await
            .unwrap(),
        [fourth.id.clone(), third.id.clone()],
        "newest first"
    );
}

pub async fn an_open_transfer_is_found_when_overdue(b: Arc<dyn ItemBackend>) {
    let (store, clock) = store(b);
    let item = mailbox("due");
    let t = draft("due", &[&item]);
    create(&store, &t).await.unwrap();
    clock.set(NOW + 60);
    let open = opened(&t, NOW + 60);
    step(&store, &t, &open).await.unwrap();
    let deadline = open.deadline;
    let due = |now: jiff::Timestamp| {
        let store = store.clone();
        async move {
            let due = store.overdue(now, None, 1000).await.unwrap();
            due.into_iter().map(|d| d.transfer).collect::<Vec<_>>()
        }
    };
    assert!(
        !due(deadline - jiff::SignedDuration::from_secs(1))
            .await
            .contains(&t.id)
    );
    assert!(due(deadline).await.contains(&t.id));
    // The lock moved to the new deadline with the transfer.
    clock.set(NOW + 86_401);
    assert!(store.item_lock(&item).await.unwrap().is_some());
    // Past the deadline an ordinary step is refused by the write itself…
    clock.set(deadline.as_second());
    let late = ended(&open, TransferStatus::Cancelled, deadline.as_second());
    assert_eq!(step(&store, &open, &late).await, Err(StoreError::Conflict));
    // …while the expirer's ending applies, once.
    let read = store.transfer(&t.id).await.unwrap().unwrap();
    let expired = ended(&open, TransferStatus::Expired, deadline.as_second());
    let commit = bookkept(
        TransferCondition::UnchangedPastDeadline(read.version),
        Some(&open),
        &expired,
        None,
    );
    store.commit(&commit).await.unwrap();
    assert_eq!(store.commit(&commit).await, Err(StoreError::Conflict));
    assert!(!due(deadline).await.contains(&t.id));
    // A stale entry (its transfer gone) can be dropped, so it hides nothing behind it.
    let stale = Due {
        transfer: TransferId::from_number(transfer_id()),
        deadline: at(NOW),
    };
    let mut entry = Item::new(
        crate::keys::DUE_PK,
        crate::keys::due_sk(stale.deadline, &stale.transfer),
        "due",
        serde_json::json!({}),
    );
    entry.expires_at = Some(NOW + 86_400 * 400);
    store
        .transact(&[Write::put(entry, Condition::Always)])
        .await
        .unwrap();
    assert!(due(deadline).await.contains(&stale.transfer));
    store.drop_due(&stale).await.unwrap();
    assert!(!due(deadline).await.contains(&stale.transfer));
    let stored = store.transfer(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.value.status, TransferStatus::Expired);
    assert_eq!(store.item_lock(&item).await.unwrap(), None);
}

pub async fn a_completion_moves_items_across_accounts(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let (from, to) = (account("handing"), account("taking"));
    let item = mailbox("moving");
    let kept = mailbox("staying");
    for i in [&item, &kept] {
        store
            .put_mailbox(&from, &sample_mailbox(&i.id, "19"))
            .await
            .unwrap();
    }
    let mut t = draft("handing", &[&item, &kept]);
    t.account = from.clone();
    t.management = Management::HandOver {
        username: "taking".into(),
        account: Some(to.clone()),
    };
    create(&store, &t).await.unwrap();
    let open = opened(&t, NOW);
    step(&store, &t, &open).await.unwrap();
    let mut done = ended(&open, TransferStatus::Completed, NOW + 10);
    done.items[0].outcome = Some(ItemOutcome::Moved);
    done.items[1].outcome = Some(ItemOutcome::Kept);
    let states = store
        .items(&from, &[item.clone(), kept.clone()])
        .await
        .unwrap();
    let Some(ItemState::Mailbox(before)) = states[0].clone() else {
        panic!("the mailbox is there")
    };
    let mut after = before.value.clone();
    after.holder_id = HolderId::from_number(20);
    let writes = [ItemWrite {
        before: ItemState::Mailbox(before.clone()),
        after: ItemState::Mailbox(Versioned {
            value: after.clone(),
            version: 0,
        }),
        to: to.clone(),
    }];
    let read = store.transfer(&t.id).await.unwrap().unwrap();
    let mut commit = bookkept(
        TransferCondition::Unchanged(read.version),
        Some(&open),
        &done,
        Some(at(NOW + 60 * 86_400)),
    );
    commit.items = writes.to_vec();
    store.commit(&commit).await.unwrap();
    let address = EmailAddress::parse(&item.id).unwrap();
    assert_eq!(store.mailbox(&from, &address).await.unwrap(), None);
    assert_eq!(store.mailbox(&to, &address).await.unwrap(), Some(after));
    assert!(matches!(
        store.item_lock(&item).await.unwrap(),
        Some(ItemLock::RecentChange { .. })
    ));
    assert_eq!(store.item_lock(&kept).await.unwrap(), None, "freed");
    // A stale item version refuses the whole completion.
    assert_eq!(
        store.commit(&commit).await,
        Err(StoreError::Conflict),
        "applies once"
    );
}

pub async fn one_ending_whoever_comes_first(b: Arc<dyn ItemBackend>) {
    let (store, clock) = store(b.clone());
    let t = draft("backstop", &[&mailbox("backstop")]);
    create(&store, &t).await.unwrap();
    let open = opened(&t, NOW);
    step(&store, &t, &open).await.unwrap();
    clock.set(open.deadline.as_second() + 10);
    // The store's TTL removes the transfer before any expirer ran.
    b.transact(
        &[Write::Delete {
            pk: crate::keys::transfer_pk(&t.id),
            sk: crate::keys::TRANSFER_SK.into(),
            condition: Condition::Always,
        }],
        NOW,
    )
    .await
    .unwrap();
    let expired = ended(
        &open,
        TransferStatus::Expired,
        open.deadline.as_second() + 10,
    );
    let backstop = bookkept(TransferCondition::Removed, Some(&open), &expired, None);
    store.commit(&backstop).await.unwrap();
    assert_eq!(
        store.commit(&backstop).await,
        Err(StoreError::Conflict),
        "a repeated stream record writes nothing"
    );
    let stored = store.transfer(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.value.status, TransferStatus::Expired);
    assert!(
        !store
            .overdue(clock.now(), None, 1000)
            .await
            .unwrap()
            .iter()
            .any(|d| d.transfer == t.id),
        "out of the index"
    );
}
