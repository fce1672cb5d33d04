//! Conformance of the inventory's replica: the source's version decides, in any order and
//! under concurrency, and the ingest path writes inventory items only.

use super::*;
use crate::probes::{Hooked, StoreWrite, WriteHook};
use std::sync::Mutex;
use titolare_domain::inventory::{InventoryMessage, Verdict};

fn message(json: serde_json::Value) -> InventoryMessage {
    InventoryMessage::parse(&json.to_string()).unwrap()
}

fn mailbox_upserted(
    account: &AccountId,
    address: &str,
    version: u64,
    holder: &str,
) -> InventoryMessage {
    message(serde_json::json!({
        "schema": 1, "type": "mailbox.upserted", "version": version, "account": account.as_str(),
        "mailbox": {
            "address": address, "holder_id": holder, "status": "Attivo", "kind": "Standard",
            "inbox_gb": version, "end_of_service": "2027-06-30", "requested_on": "2020-06-30",
            "renewal": "A Scadenza", "duration": "1 Anno"
        }
    }))
}

fn mailbox_removed(account: &AccountId, address: &str, version: u64) -> InventoryMessage {
    message(serde_json::json!({
        "schema": 1, "type": "mailbox.removed", "version": version,
        "account": account.as_str(), "address": address,
    }))
}

/// Applies a message, reading again after a conflict as the ingest does.
pub async fn apply_until_done(store: &TableStore, m: &InventoryMessage) -> Verdict {
    for _ in 0..20 {
        match store.apply_inventory(m).await {
            Err(StoreError::Conflict) => continue,
            other => return other.unwrap(),
        }
    }
    panic!("20 conflicts in a row")
}

pub async fn inventory_keeps_the_newest_version(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("inventory");
    let address = format!("{}@pec.it", unique("box"));
    let email = EmailAddress::parse(&address).unwrap();
    let inbox = |store: &TableStore| {
        let (acc, email) = (acc.clone(), email.clone());
        let store = store.clone();
        async move {
            store
                .mailbox(&acc, &email)
                .await
                .unwrap()
                .map(|m| (m.inbox_gb, m.source_version))
        }
    };
    let upsert = |v| mailbox_upserted(&acc, &address, v, "5");
    assert_eq!(store.apply_inventory(&upsert(2)).await, Ok(Verdict::Apply));
    assert_eq!(inbox(&store).await, Some((2, 2)));
    // Redelivered, then an older one: nothing changes.
    assert_eq!(store.apply_inventory(&upsert(2)).await, Ok(Verdict::Stale));
    assert_eq!(store.apply_inventory(&upsert(1)).await, Ok(Verdict::Stale));
    assert_eq!(inbox(&store).await, Some((2, 2)));
    assert_eq!(store.apply_inventory(&upsert(4)).await, Ok(Verdict::Apply));
    assert_eq!(inbox(&store).await, Some((4, 4)));
    // A removal leaves a tombstone: an older upsert cannot bring the mailbox back.
    let removal = mailbox_removed(&acc, &address, 5);
    assert_eq!(store.apply_inventory(&removal).await, Ok(Verdict::Apply));
    assert_eq!(inbox(&store).await, None);
    assert_eq!(store.apply_inventory(&removal).await, Ok(Verdict::Stale));
    assert_eq!(store.apply_inventory(&upsert(3)).await, Ok(Verdict::Stale));
    assert_eq!(inbox(&store).await, None);
    let listed = store
        .mailboxes(
            &acc,
            &ItemFilter::default(),
            &PageRequest {
                size: 10,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert!(listed.items.is_empty(), "a tombstone is not a mailbox");
    assert_eq!(store.apply_inventory(&upsert(6)).await, Ok(Verdict::Apply));
    assert_eq!(inbox(&store).await, Some((6, 6)));
    assert_eq!(
        store
            .apply_inventory(&mailbox_removed(&acc, &address, 6))
            .await,
        Ok(Verdict::Stale)
    );

    // Domains and accounts follow the same rule; a renamed account keeps one username.
    let name = format!("{}.it", unique("dom"));
    let domain = |v: u64, holder: &str| {
        message(serde_json::json!({
            "schema": 1, "type": "domain.upserted", "version": v, "account": acc.as_str(),
            "domain": { "name": name, "holder_id": holder, "status": "Attivo",
                "registered_on": "2020-01-15", "end_of_service": "2027-01-15" }
        }))
    };
    assert_eq!(
        store.apply_inventory(&domain(3, "7")).await,
        Ok(Verdict::Apply)
    );
    assert_eq!(
        store.apply_inventory(&domain(2, "8")).await,
        Ok(Verdict::Stale)
    );
    assert_eq!(
        store
            .domain(&acc, &name)
            .await
            .unwrap()
            .unwrap()
            .holder_id
            .as_str(),
        "7"
    );
    let gone = message(serde_json::json!({
        "schema": 1, "type": "domain.removed", "version": 4, "account": acc.as_str(), "name": name,
    }));
    assert_eq!(store.apply_inventory(&gone).await, Ok(Verdict::Apply));
    assert_eq!(store.domain(&acc, &name).await.unwrap(), None);

    let (first, second) = (unique("user"), unique("user"));
    let account_at = |v: u64, username: &str| {
        message(serde_json::json!({
            "schema": 1, "type": "account.upserted", "version": v,
            "account": { "id": acc.as_str(), "username": username, "role": "rivenditore" }
        }))
    };
    assert_eq!(
        store.apply_inventory(&account_at(1, &first)).await,
        Ok(Verdict::Apply)
    );
    assert_eq!(
        store.apply_inventory(&account_at(3, &second)).await,
        Ok(Verdict::Apply)
    );
    assert_eq!(
        store.apply_inventory(&account_at(2, &first)).await,
        Ok(Verdict::Stale)
    );
    assert_eq!(store.account_by_username(&first).await.unwrap(), None);
    let renamed = store.account_by_username(&second).await.unwrap().unwrap();
    assert_eq!(
        (renamed.id, renamed.role, renamed.source_version),
        (acc.clone(), AccountRole::Rivenditore, 3)
    );
}

pub async fn inventory_keeps_what_the_service_keeps(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("kept");
    let address = format!("{}@pec.it", unique("box"));
    let mut had = sample_mailbox(&address, "5");
    had.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    had.password_reset_required = true;
    store.put_mailbox(&acc, &had).await.unwrap();
    assert_eq!(
        store
            .apply_inventory(&mailbox_upserted(&acc, &address, 1, "6"))
            .await,
        Ok(Verdict::Apply)
    );
    let now = store.mailbox(&acc, &had.address).await.unwrap().unwrap();
    assert_eq!(now.holder_id.as_str(), "6", "the provider's facts");
    assert_eq!(now.password_hash, had.password_hash, "the service's own");
    assert!(now.password_reset_required);
}

/// Records the keys and kinds every transaction writes.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

impl WriteHook for Recorder {
    fn after(&self, write: StoreWrite<'_>) {
        if let StoreWrite::Transaction(writes) = write {
            let mut seen = self.0.lock().unwrap();
            for w in writes {
                let kind = match w {
                    Write::Put { item, .. } => item.kind.clone(),
                    _ => "(delete)".into(),
                };
                seen.push((w.key().0.to_owned(), kind));
            }
        }
    }
}

/// Many versions of one mailbox arriving at once, each applied by its own task: the
/// replica ends at the newest, and the ingest writes inventory items only (the IAM policy
/// of `inventory-ingest` scopes it to the partitions these live in: docs/deploying.md).
pub async fn concurrent_inventory_messages_end_at_the_newest(b: Arc<dyn ItemBackend>) {
    let recorded = Arc::new(Hooked::around(b, Recorder::default()));
    let (store, _) = store(recorded.clone());
    let acc = account("race");
    // Rounds of 12 versions of one mailbox at once, a third of them removals, in orders
    // that differ by round; the newest wins whatever the interleaving (a removed mailbox
    // brought back must never reuse an item version a slower writer holds).
    for round in 0..8u64 {
        let address = format!("{}@pec.it", unique("box"));
        let mut versions: Vec<u64> = (1..=12).collect();
        versions.sort_by_key(|v| (v * 7 + round * 5) % 12);
        let removal = |v: u64| (v + round).is_multiple_of(3);
        let mut tasks = Vec::new();
        for v in versions {
            let m = if removal(v) {
                mailbox_removed(&acc, &address, v)
            } else {
                mailbox_upserted(&acc, &address, v, "5")
            };
            let store = store.clone();
            tasks.push(tokio::spawn(
                async move { apply_until_done(&store, &m).await },
            ));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let email = EmailAddress::parse(&address).unwrap();
        let m = store.mailbox(&acc, &email).await.unwrap();
        if removal(12) {
            assert_eq!(m, None, "round {round}: removed at 12");
        } else {
            let m = m.unwrap_or_else(|| panic!("round {round}: gone"));
            assert_eq!((m.source_version, m.inbox_gb), (12, 12), "round {round}");
        }
    }
    let seen = recorded.hook.0.lock().unwrap();
    for (pk, kind) in seen.iter() {
        assert!(pk.starts_with("ACC#"), "{pk}");
        assert!(
            ["mailbox", "inventory_removed", "(delete)"].contains(&kind.as_str()),
            "{kind}"
        );
    }
}

/// A bulk load's batch decides as single messages do: new entities written together, known
/// ones conditionally, only each entity's newest message of the batch, and a batch loaded
/// again writes nothing.
pub async fn inventory_batches_apply_like_single_messages(b: Arc<dyn ItemBackend>) {
    let counted = Arc::new(crate::probes::CountingBackend::new(b));
    let (store, _) = store(counted.clone());
    let acc = account("bulk");
    let address = |n: usize| format!("box{n}-{}@pec.it", acc.as_str());
    let mut batch: Vec<InventoryMessage> = (0..60)
        .map(|n| mailbox_upserted(&acc, &address(n), 3, "5"))
        .collect();
    // The same mailbox twice in one batch: the newer counts; an older one is stale.
    batch.push(mailbox_upserted(&acc, &address(0), 4, "6"));
    batch.push(mailbox_upserted(&acc, &address(1), 2, "6"));
    batch.push(mailbox_removed(&acc, &address(2), 5));
    batch.push(message(serde_json::json!({
        "schema": 1, "type": "account.upserted", "version": 1,
        "account": { "id": acc.as_str(), "username": acc.as_str(), "role": "cliente" }
    })));
    let verdicts = store
        .apply_inventory_batch(&batch, &Default::default())
        .await
        .unwrap();
    let applied = verdicts.iter().filter(|v| **v == Verdict::Apply).count();
    assert_eq!(
        applied, 61,
        "60 mailboxes (one by its newer duplicate, one by its removal) and the account"
    );
    assert_eq!(
        verdicts[0],
        Verdict::Stale,
        "its newer duplicate applied instead"
    );
    assert_eq!(verdicts[60], Verdict::Apply);
    assert_eq!(verdicts[61], Verdict::Stale);
    let read = |n: usize| {
        let (store, acc) = (store.clone(), acc.clone());
        let email = EmailAddress::parse(&address(n)).unwrap();
        async move {
            store
                .mailbox(&acc, &email)
                .await
                .unwrap()
                .map(|m| (m.source_version, m.holder_id.as_str().to_owned()))
        }
    };
    assert_eq!(read(0).await, Some((4, "6".into())));
    assert_eq!(read(1).await, Some((3, "5".into())));
    assert_eq!(read(2).await, None, "removed");
    assert_eq!(read(59).await, Some((3, "5".into())));
    assert!(store.account(&acc).await.unwrap().is_some());
    assert!(
        store.has_removals(&acc).await.unwrap(),
        "the removal's tombstone"
    );
    // An account known to hold no tombstone: only the records are read, and new ones apply.
    let fresh = account("bulk-fresh");
    assert!(!store.has_removals(&fresh).await.unwrap());
    let clean = std::collections::HashSet::from([fresh.clone()]);
    let new: Vec<_> = (0..10)
        .map(|n| mailbox_upserted(&fresh, &format!("box{n}-{}@pec.it", fresh.as_str()), 1, "5"))
        .collect();
    counted.reset();
    let verdicts = store.apply_inventory_batch(&new, &clean).await.unwrap();
    assert!(verdicts.iter().all(|v| *v == Verdict::Apply));
    assert!(counted.counts().read_units <= 10, "{:?}", counted.counts());
    // Loaded again: everything is stale, nothing is written.
    counted.reset();
    let again = store
        .apply_inventory_batch(&batch, &Default::default())
        .await
        .unwrap();
    assert!(again.iter().all(|v| *v == Verdict::Stale), "{again:?}");
    assert_eq!(counted.counts().write_units, 0);
    // Newer versions of known mailboxes go through conditional writes.
    let newer: Vec<_> = (0..5)
        .map(|n| mailbox_upserted(&acc, &address(n), 9, "7"))
        .collect();
    let verdicts = store
        .apply_inventory_batch(&newer, &Default::default())
        .await
        .unwrap();
    assert!(verdicts.iter().all(|v| *v == Verdict::Apply));
    assert_eq!(
        read(2).await,
        Some((9, "7".into())),
        "back after its removal"
    );
    assert_eq!(read(4).await, Some((9, "7".into())));
}
