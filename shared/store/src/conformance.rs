//! The store conformance suite: the same checks, run by each backend's tests through
//! [`conformance_tests!`](crate::conformance_tests). Every check works in accounts and
//! partitions of its own, so the suite can share one table and run in parallel.

use crate::backend::*;
use crate::clock::FixedClock;
use crate::table::TableStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use titolare_domain::consequences::bookkept;
use titolare_domain::ports::*;
use titolare_domain::values::{CodiceFiscale, EmailAddress};
use titolare_domain::*;

/// Expands to one `#[tokio::test]` per check, each given a fresh backend by `$make`
/// (an async expression yielding `Arc<dyn ItemBackend>`).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            items_round_trip, conditions_refuse_when_they_do_not_hold,
            failed_transaction_leaves_nothing_behind, expired_items_are_gone,
            queries_follow_prefix_order_and_cursor, sequences_increase,
            search_by_every_criterion, search_pages_add_up, search_combines_criteria,
            update_moves_search_keys, concurrent_updates_apply_once, accounts_are_isolated,
            idempotent_responses_are_kept_until_they_expire, listings_page_and_filter,
            invalid_cursors_are_refused, a_send_writes_challenge_and_message_together,
            concurrent_verifications_apply_once, transfer_items_expire_with_it,
            drafts_lock_their_items,
            an_open_transfer_is_found_when_overdue,
            a_completion_moves_items_across_accounts,
            one_ending_whoever_comes_first,
            inventory_keeps_the_newest_version, inventory_keeps_what_the_service_keeps,
            concurrent_inventory_messages_end_at_the_newest,
            inventory_batches_apply_like_single_messages);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let backend: std::sync::Arc<dyn $crate::ItemBackend> = $make.await;
                $crate::conformance::$name(backend).await;
            }
        )*
    };
}

mod inventory;
mod transfers;
pub use inventory::*;
pub use transfers::*;

/// 2026-11-23T08:00:00Z, the suite's "now".
pub const NOW: i64 = 1_795_420_800;

pub(crate) fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{name}-{nanos}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn item(pk: &str, sk: &str, n: i64) -> Item {
    Item::new(
        pk,
        sk,
        "test",
        serde_json::json!({ "n": n, "nested": { "list": [1, "two", null], "flag": true } }),
    )
}

fn put(item: Item, condition: Condition) -> Write {
    Write::put(item, condition)
}

pub(crate) fn store(backend: Arc<dyn ItemBackend>) -> (TableStore, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(NOW));
    (TableStore::new(backend, clock.clone()), clock)
}

pub(crate) fn account(name: &str) -> AccountId {
    AccountId::parse(&unique(name)).unwrap()
}

/// A valid holder whose codice fiscale matches its name.
pub fn person(id: u64, tipo: Tipo, cognome: &str, nome: &str) -> Holder {
    let cf = CodiceFiscale::for_person(cognome, nome, "80A01", "H501").unwrap();
    let mut json = serde_json::json!({
        "tipo": tipo.as_str(), "indirizzo": "Via Roma 1", "cap": "00185", "provincia": "RM",
        "comune": "Roma", "cellulare": "+39 333 1234567", "email": format!("h{id}@example.it"),
    });
    match tipo {
        Tipo::Azienda => {
            json["ragione_sociale"] = format!("{cognome} {nome} S.r.l.").into();
            json["partita_iva"] = "06363391001".into();
            json["codice_fiscale_azienda"] = "06363391001".into();
        }
        _ => {
            json["cognome"] = cognome.into();
            json["nome"] = nome.into();
            json["codice_fiscale"] = cf.as_str().into();
            if tipo == Tipo::LiberoProfessionista {
                json["partita_iva"] = "00000010017".into();
            }
        }
    }
    Holder::create(
        HolderId::from_number(id),
        &serde_json::from_value(json).unwrap(),
    )
    .unwrap()
}

fn operation(subject: &str, at: i64) -> Operation {
    Operation {
        id: unique("op"),
        at: jiff::Timestamp::from_second(at).unwrap(),
        kind: OperationKind::HolderUpdated,
        outcome: Outcome::Success,
        subject: subject.to_owned(),
        detail: "prova".to_owned(),
        request_id: "req".to_owned(),
    }
}

fn ids(page: &Page<HolderSummary>) -> Vec<&str> {
    page.items.iter().map(|h| h.id.as_str()).collect()
}

fn query(pairs: &[(&str, &str)]) -> HolderQuery {
    HolderQuery::parse(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
    .unwrap()
}

/// The first page (default size) of a search.
async fn search(
    store: &TableStore,
    account: &AccountId,
    criteria: &[(&str, &str)],
) -> Page<HolderSummary> {
    store
        .search_holders(account, &query(criteria), &PageRequest::default())
        .await
        .unwrap()
}

/// How many racing writes succeeded; every other one must have lost on its condition.
pub(crate) async fn successes(
    tasks: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>,
) -> usize {
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(e, StoreError::Conflict),
        }
    }
    ok
}

async fn insert(store: &TableStore, account: &AccountId, holder: &Holder) {
    store
        .insert_holder(account, holder, &operation(holder.id.as_str(), NOW), None)
        .await
        .unwrap();
}

pub async fn items_round_trip(b: Arc<dyn ItemBackend>) {
    let pk = unique("rt");
    let mut it = item(&pk, "a", 1);
    it.version = 3;
    b.transact(&[put(it.clone(), Condition::Always)], NOW)
        .await
        .unwrap();
    assert_eq!(b.get(&pk, "a", NOW).await.unwrap(), Some(it));
    assert_eq!(b.get(&pk, "b", NOW).await.unwrap(), None);
    b.transact(
        &[Write::Delete {
            pk: pk.clone(),
            sk: "a".into(),
            condition: Condition::Present,
        }],
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(b.get(&pk, "a", NOW).await.unwrap(), None);
}

pub async fn conditions_refuse_when_they_do_not_hold(b: Arc<dyn ItemBackend>) {
    let pk = unique("cond");
    let mut v1 = item(&pk, "a", 1);
    v1.version = 1;
    b.transact(&[put(v1.clone(), Condition::Absent)], NOW)
        .await
        .unwrap();
    let failed = |index| Err(BackendError::ConditionFailed { index });
    assert_eq!(
        b.transact(&[put(item(&pk, "a", 2), Condition::Absent)], NOW)
            .await,
        failed(0)
    );
    assert_eq!(
        b.transact(&[put(item(&pk, "x", 2), Condition::Present)], NOW)
            .await,
        failed(0)
    );
    assert_eq!(
        b.transact(&[put(item(&pk, "a", 2), Condition::Version(2))], NOW)
            .await,
        failed(0)
    );
    assert_eq!(
        b.transact(
            &[Write::Check {
                pk: pk.clone(),
                sk: "x".into(),
                condition: Condition::Present
            }],
            NOW
        )
        .await,
        failed(0)
    );
    assert_eq!(
        b.transact(
            &[Write::Delete {
                pk: pk.clone(),
                sk: "a".into(),
                condition: Condition::Version(7)
            }],
            NOW
        )
        .await,
        failed(0)
    );
    assert_eq!(b.get(&pk, "a", NOW).await.unwrap(), Some(v1));
    let mut v2 = item(&pk, "a", 2);
    v2.version = 2;
    b.transact(&[put(v2.clone(), Condition::Version(1))], NOW)
        .await
        .unwrap();
    assert_eq!(b.get(&pk, "a", NOW).await.unwrap(), Some(v2));
}

pub async fn failed_transaction_leaves_nothing_behind(b: Arc<dyn ItemBackend>) {
    let pk = unique("tx");
    b.transact(&[put(item(&pk, "taken", 0), Condition::Always)], NOW)
        .await
        .unwrap();
    let writes = [
        put(item(&pk, "new1", 1), Condition::Absent),
        Write::Delete {
            pk: pk.clone(),
            sk: "taken".into(),
            condition: Condition::Present,
        },
        put(item(&pk, "new2", 2), Condition::Absent),
        put(item(&pk, "taken2", 3), Condition::Present),
    ];
    assert_eq!(
        b.transact(&writes, NOW).await,
        Err(BackendError::ConditionFailed { index: 3 })
    );
    assert_eq!(b.get(&pk, "new1", NOW).await.unwrap(), None);
    assert_eq!(b.get(&pk, "new2", NOW).await.unwrap(), None);
    assert!(b.get(&pk, "taken", NOW).await.unwrap().is_some());
    let all = b
        .query(
            &Query {
                pk: pk.clone(),
                sk_prefix: String::new(),
                start_after: None,
                limit: 10,
                forward: true,
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    // A key written twice is refused before anything is sent.
    let twice = [
        put(item(&pk, "k", 1), Condition::Always),
        put(item(&pk, "k", 2), Condition::Always),
    ];
    assert!(matches!(
        b.transact(&twice, NOW).await,
        Err(BackendError::Invalid(_))
    ));
}

pub async fn expired_items_are_gone(b: Arc<dyn ItemBackend>) {
    let pk = unique("ttl");
    let mut expiring = item(&pk, "e", 1);
    expiring.expires_at = Some(NOW + 60);
    b.transact(
        &[
            put(expiring.clone(), Condition::Absent),
            put(item(&pk, "f", 2), Condition::Absent),
        ],
        NOW,
    )
    .await
    .unwrap();
    let q = Query {
        pk: pk.clone(),
        sk_prefix: String::new(),
        start_after: None,
        limit: 10,
        forward: true,
    };
    // Live up to the second before its expiry, gone from that second on: no store deletes on time.
    assert!(b.get(&pk, "e", NOW + 59).await.unwrap().is_some());
    assert_eq!(b.get(&pk, "e", NOW + 60).await.unwrap(), None);
    assert_eq!(b.query(&q, NOW + 59).await.unwrap().items.len(), 2);
    let later = b.query(&q, NOW + 60).await.unwrap();
    assert_eq!(later.items.len(), 1);
    assert_eq!(later.items[0].sk, "f");
    assert_eq!(b.count(&pk, "", NOW + 59).await.unwrap().live, 2);
    assert_eq!(b.count(&pk, "", NOW + 60).await.unwrap().live, 1);
    // An expired item is absent to conditions too.
    assert_eq!(
        b.transact(
            &[Write::Check {
                pk: pk.clone(),
                sk: "e".into(),
                condition: Condition::Present
            }],
            NOW + 60
        )
        .await,
        Err(BackendError::ConditionFailed { index: 0 })
    );
    b.transact(&[put(item(&pk, "e", 3), Condition::Absent)], NOW + 60)
        .await
        .unwrap();
    assert_eq!(
        b.get(&pk, "e", NOW + 61).await.unwrap().unwrap().data["n"],
        3
    );
}

pub async fn queries_follow_prefix_order_and_cursor(b: Arc<dyn ItemBackend>) {
    let pk = unique("q");
    let other = unique("q-other");
    let mut writes: Vec<Write> = ["A#3", "A#1", "A#2", "AB#1", "B#1"]
        .iter()
        .enumerate()
        .map(|(i, sk)| put(item(&pk, sk, i as i64), Condition::Absent))
        .collect();
    writes.push(put(item(&other, "A#0", 9), Condition::Absent));
    b.transact(&writes, NOW).await.unwrap();
    let sks = |page: QueryPage| page.items.into_iter().map(|i| i.sk).collect::<Vec<_>>();
    let q = |prefix: &str, after: Option<&str>, limit, forward| Query {
        pk: pk.clone(),
        sk_prefix: prefix.into(),
        start_after: after.map(Into::into),
        limit,
        forward,
    };
    assert_eq!(
        sks(b.query(&q("A", None, 10, true), NOW).await.unwrap()),
        ["A#1", "A#2", "A#3", "AB#1"]
    );
    assert_eq!(
        sks(b.query(&q("A#", None, 10, true), NOW).await.unwrap()),
        ["A#1", "A#2", "A#3"]
    );
    assert_eq!(
        sks(b.query(&q("A", None, 2, true), NOW).await.unwrap()),
        ["A#1", "A#2"]
    );
    assert_eq!(
        sks(b.query(&q("A", Some("A#2"), 10, true), NOW).await.unwrap()),
        ["A#3", "AB#1"]
    );
    assert_eq!(
        sks(b.query(&q("", None, 10, false), NOW).await.unwrap()),
        ["B#1", "AB#1", "A#3", "A#2", "A#1"]
    );
    assert_eq!(
        sks(b.query(&q("A", None, 10, false), NOW).await.unwrap()),
        ["AB#1", "A#3", "A#2", "A#1"]
    );
    assert_eq!(
        sks(b.query(&q("", Some("A#3"), 2, false), NOW).await.unwrap()),
        ["A#2", "A#1"]
    );
    assert!(sks(b.query(&q("C", None, 10, true), NOW).await.unwrap()).is_empty());
    assert_eq!(b.count(&pk, "A", NOW).await.unwrap().live, 4);
}

pub async fn sequences_increase(b: Arc<dyn ItemBackend>) {
    let name = unique("seq");
    let first = b.next_sequence(&name).await.unwrap();
    assert_eq!(first, 1);
    let mut seen = vec![first];
    for _ in 0..5 {
        seen.push(b.next_sequence(&name).await.unwrap());
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
}

/// Six holders: three "Rossi" (one of them "Rossini"), two named "Mario", one azienda.
async fn six_holders(store: &TableStore, account: &AccountId) -> Vec<Holder> {
    let holders = vec![
        person(11, Tipo::Privato, "Rossi", "Mario"),
        person(12, Tipo::Privato, "Rossi", "Lucia"),
        person(13, Tipo::LiberoProfessionista, "Rossini", "Mario"),
        person(14, Tipo::Privato, "Bianchi", "Nicolò"),
        person(15, Tipo::Azienda, "Verdi", "Giuseppe"),
        person(16, Tipo::Privato, "Neri", "Anna"),
    ];
    for h in &holders {
        insert(store, account, h).await;
    }
    holders
}

pub async fn search_by_every_criterion(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("search");
    let holders = six_holders(&store, &acc).await;
    let mailbox = sample_mailbox("rossi.lucia@pec.it", "12");
    store.put_mailbox(&acc, &mailbox).await.unwrap();
    let page = PageRequest::default();
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (vec![("id", "13")], vec!["13"]),
        (vec![("mailbox", "Rossi.Lucia@PEC.it")], vec!["12"]),
        (
            vec![(
                "codice_fiscale",
                holders[3].codice_fiscale.as_ref().unwrap().as_str(),
            )],
            vec!["14"],
        ),
        (vec![("codice_fiscale_azienda", "06363391001")], vec!["15"]),
        (vec![("cognome", "rossi")], vec!["11", "12", "13"]),
        (vec![("cognome", "ROSSI ")], vec!["11", "12", "13"]),
        (vec![("nome", "nicolo")], vec!["14"]),
        (vec![("nome", "Mario")], vec!["11", "13"]),
        (vec![("ragione_sociale", "verdi giu")], vec!["15"]),
        // By a later word too, once per holder; an azienda not by its representative.
        (vec![("ragione_sociale", "giuseppe")], vec!["15"]),
        (vec![("ragione_sociale", "s.r")], vec!["15"]),
        (
            vec![("ragione_sociale", "giu"), ("tipo", "azienda")],
            vec!["15"],
        ),
        (vec![("cognome", "verdi")], vec![]),
        (vec![("partita_iva", "06363391001")], vec!["15"]),
        (vec![("partita_iva", "00000010017")], vec!["13"]),
        (vec![("tipo", "privato")], vec!["11", "12", "14", "16"]),
        (vec![("cognome", "zzz")], vec![]),
        (vec![("mailbox", "nessuna@pec.it")], vec![]),
    ];
    for (criteria, expected) in cases {
        let mut result = store
            .search_holders(&acc, &query(&criteria), &page)
            .await
            .unwrap();
        let mut got = ids(&result);
        got.sort_unstable();
        assert_eq!(got, expected, "{criteria:?}");
        assert_eq!(result.total, Some(expected.len() as u64), "{criteria:?}");
        assert_eq!(result.next_cursor.take(), None);
    }
}

pub async fn search_pages_add_up(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("pages");
    six_holders(&store, &acc).await;
    for criteria in [
        vec![("tipo", "privato")],
        vec![("cognome", "r")],
        vec![("cognome", "r"), ("nome", "m")],
    ] {
        let full = store
            .search_holders(
                &acc,
                &query(&criteria),
                &PageRequest {
                    size: 100,
                    cursor: None,
                },
            )
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .search_holders(&acc, &query(&criteria), &PageRequest { size: 2, cursor })
                .await
                .unwrap();
            assert!(page.items.len() <= 2);
            assert_eq!(page.total, full.total, "{criteria:?}");
            seen.extend(page.items.iter().map(|h| h.id.clone()));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let all: Vec<_> = full.items.iter().map(|h| h.id.clone()).collect();
        assert_eq!(seen, all, "{criteria:?}");
        assert_eq!(seen.len() as u64, full.total.unwrap());
    }
}

pub async fn search_combines_criteria(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("combine");
    six_holders(&store, &acc).await;
    let page = PageRequest::default();
    let check = |criteria: Vec<(&'static str, &'static str)>, expected: Vec<&'static str>| {
        let store = store.clone();
        let acc = acc.clone();
        let page = page.clone();
        async move {
            let result = store
                .search_holders(&acc, &query(&criteria), &page)
                .await
                .unwrap();
            assert_eq!(ids(&result), expected, "{criteria:?}");
            assert_eq!(result.total, Some(expected.len() as u64));
        }
    };
    check(
        vec![("cognome", "rossi"), ("nome", "mario")],
        vec!["11", "13"],
    )
    .await;
    check(
        vec![("cognome", "rossi"), ("tipo", "libero_professionista")],
        vec!["13"],
    )
    .await;
    check(vec![("cognome", "rossi"), ("id", "12")], vec!["12"]).await;
    check(vec![("cognome", "bianchi"), ("id", "12")], vec![]).await;
    check(vec![("nome", "anna"), ("tipo", "azienda")], vec![]).await;
}

pub async fn update_moves_search_keys(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("update");
    let h = person(21, Tipo::Azienda, "Gialli", "Paolo");
    insert(&store, &acc, &h).await;
    let before = store.holder(&acc, &h.id).await.unwrap().unwrap();
    let patch = serde_json::from_value(
        serde_json::json!({"ragione_sociale": "Azzurri S.p.A.", "comune": "Fiumicino"}),
    )
    .unwrap();
    let (after, _) = before.value.update(&patch).unwrap();
    store
        .update_holder(&acc, &before, &after, &operation("21", NOW + 1))
        .await
        .unwrap();
    let page = PageRequest::default();
    assert!(
        search(&store, &acc, &[("ragione_sociale", "gialli")])
            .await
            .items
            .is_empty()
    );
    let found = search(&store, &acc, &[("ragione_sociale", "azzurri")]).await;
    assert_eq!(ids(&found), ["21"]);
    assert_eq!(found.items[0].comune, "Fiumicino");
    let stored = store.holder(&acc, &h.id).await.unwrap().unwrap();
    assert_eq!(stored.value, after);
    assert_eq!(stored.version, before.version + 1);
    let ops = store.operations(&acc, &page).await.unwrap();
    assert_eq!(ops.items.len(), 2);
    assert_eq!(ops.items[0].at.as_second(), NOW + 1, "newest first");
}

/// Eight writers race, each reading the holder itself once all are ready and writing back
/// an increment of a number in its address, retrying after a conflict: with conditional
/// writes no increment is lost (the address ends at 8, one operation entry each); a store
/// that let a stale write through would end lower.
pub async fn concurrent_updates_apply_once(b: Arc<dyn ItemBackend>) {
    const WRITERS: u64 = 8;
    let (store, _) = store(b);
    let acc = account("race");
    let h = person(31, Tipo::Privato, "Blu", "Carla");
    insert(&store, &acc, &h).await;
    let start = Arc::new(tokio::sync::Barrier::new(WRITERS as usize));
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let (store, acc, start, id) = (store.clone(), acc.clone(), start.clone(), h.id.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut conflicts = 0u32;
            loop {
                let read = store.holder(&acc, &id).await.unwrap().unwrap();
                let n: u64 = read
                    .value
                    .indirizzo
                    .as_str()
                    .trim_start_matches("Via ")
                    .parse()
                    .unwrap_or(0);
                let patch = serde_json::from_value(
                    serde_json::json!({"indirizzo": format!("Via {}", n + 1)}),
                )
                .unwrap();
                let (after, _) = read.value.update(&patch).unwrap();
                match store
                    .update_holder(&acc, &read, &after, &operation("31", NOW + i as i64))
                    .await
                {
                    Ok(()) => return conflicts,
                    Err(StoreError::Conflict) => conflicts += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let last = store.holder(&acc, &h.id).await.unwrap().unwrap();
    assert_eq!(
        last.value.indirizzo.as_str(),
        format!("Via {WRITERS}"),
        "{conflicts} conflicts"
    );
    let ops = store
        .operations(
            &acc,
            &PageRequest {
                size: 100,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        ops.items.len() as u64,
        1 + WRITERS,
        "one insert, one entry per update"
    );
}

pub async fn accounts_are_isolated(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let (a, other) = (account("iso-a"), account("iso-b"));
    let h = person(41, Tipo::Privato, "Viola", "Ugo");
    insert(&store, &a, &h).await;
    store
        .put_mailbox(&a, &sample_mailbox("viola@pec.it", "41"))
        .await
        .unwrap();
    store
        .put_domain(&a, &sample_domain("viola.it", "41"))
        .await
        .unwrap();
    assert!(store.holder(&other, &h.id).await.unwrap().is_none());
    assert!(
        store
            .mailbox(&other, &EmailAddress::parse("viola@pec.it").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.domain(&other, "viola.it").await.unwrap().is_none());
    let page = PageRequest::default();
    assert!(
        search(&store, &other, &[("cognome", "viola")])
            .await
            .items
            .is_empty()
    );
    assert!(
        search(&store, &other, &[("mailbox", "viola@pec.it")])
            .await
            .items
            .is_empty()
    );
    assert!(
        store
            .mailboxes(&other, &ItemFilter::default(), &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        store
            .operations(&other, &page)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        search(&store, &a, &[("cognome", "viola")])
            .await
            .items
            .len(),
        1
    );
}

pub async fn idempotent_responses_are_kept_until_they_expire(b: Arc<dyn ItemBackend>) {
    let (store, clock) = store(b);
    let acc = account("idem");
    let h = person(51, Tipo::Privato, "Rosa", "Ada");
    let response = IdempotentResponse {
        key: "key-1".into(),
        fingerprint: "f".into(),
        status: 201,
        body: serde_json::json!({"id": "51"}),
        expires_at: jiff::Timestamp::from_second(NOW + 86_400).unwrap(),
    };
    store
        .insert_holder(&acc, &h, &operation("51", NOW), Some(&response))
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotent_response(&IdempotencyScope::Account(acc.clone()), "key-1")
            .await
            .unwrap(),
        Some(response.clone())
    );
    // The same key cannot be taken twice, and the failed insert leaves no holder.
    let h2 = person(52, Tipo::Privato, "Rosa", "Bea");
    assert_eq!(
        store
            .insert_holder(&acc, &h2, &operation("52", NOW), Some(&response))
            .await,
        Err(StoreError::Conflict)
    );
    assert!(store.holder(&acc, &h2.id).await.unwrap().is_none());
    assert_eq!(
        store
            .search_holders(
                &acc,
                &query(&[("cognome", "rosa")]),
                &PageRequest::default()
            )
            .await
            .unwrap()
            .total,
        Some(1)
    );
    clock.set(NOW + 86_400);
    assert_eq!(
        store
            .idempotent_response(&IdempotencyScope::Account(acc.clone()), "key-1")
            .await
            .unwrap(),
        None
    );
}

pub async fn listings_page_and_filter(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("lists");
    for (i, owner) in ["1", "2", "1", "3", "2"].iter().enumerate() {
        store
            .put_mailbox(&acc, &sample_mailbox(&format!("box{i}@pec.it"), owner))
            .await
            .unwrap();
        store
            .put_domain(&acc, &sample_domain(&format!("dom{i}.it"), owner))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .mailboxes(
                &acc,
                &ItemFilter {
                    held_by_others_than: Some(HolderId::from_number(1)),
                    ..ItemFilter::default()
                },
                &PageRequest { size: 2, cursor },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|m| m.address.as_str().to_owned()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["box1@pec.it", "box3@pec.it", "box4@pec.it"]);
    let domains = store
        .domains(
            &acc,
            &ItemFilter::default(),
            &PageRequest {
                size: 10,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(domains.items.len(), 5);
    assert_eq!(domains.next_cursor, None);
    // By holder, by the start of the name, and both with paging.
    let one_page = PageRequest {
        size: 1,
        cursor: None,
    };
    let of_two = ItemFilter {
        holder_id: Some(HolderId::from_number(2)),
        ..ItemFilter::default()
    };
    let mut names = Vec::new();
    let mut page = one_page.clone();
    loop {
        let listed = store.domains(&acc, &of_two, &page).await.unwrap();
        names.extend(listed.items.iter().map(|d| d.name.clone()));
        match listed.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(names, ["dom1.it", "dom4.it"]);
    let starting = ItemFilter {
        prefix: Some("box3".into()),
        ..ItemFilter::default()
    };
    let listed = store.mailboxes(&acc, &starting, &one_page).await.unwrap();
    let addresses: Vec<&str> = listed.items.iter().map(|m| m.address.as_str()).collect();
    assert_eq!((addresses, listed.next_cursor), (vec!["box3@pec.it"], None));
    let nothing = ItemFilter {
        prefix: Some("box3".into()),
        holder_id: Some(HolderId::from_number(1)),
        ..ItemFilter::default()
    };
    let listed = store.mailboxes(&acc, &nothing, &one_page).await.unwrap();
    assert!(listed.items.is_empty());
    assert_eq!(
        store
            .domain(&acc, "DOM3.it")
            .await
            .unwrap()
            .unwrap()
            .holder_id
            .as_str(),
        "3"
    );
    let account_record = Account {
        id: acc.clone(),
        username: "lists".into(),
        own_holder_id: Some(HolderId::from_number(1)),
        role: AccountRole::Rivenditore,
        source_version: 0,
    };
    store.put_account(&account_record).await.unwrap();
    assert_eq!(store.account(&acc).await.unwrap(), Some(account_record));
}

pub async fn invalid_cursors_are_refused(b: Arc<dyn ItemBackend>) {
    let (store, _) = store(b);
    let acc = account("cursor");
    six_holders(&store, &acc).await;
    let by_cognome = store
        .search_holders(
            &acc,
            &query(&[("cognome", "r")]),
            &PageRequest {
                size: 1,
                cursor: None,
            },
        )
        .await
        .unwrap();
    let cursor = by_cognome.next_cursor.unwrap();
    for bad in ["%%%", "bm90IGEga2V5", cursor.as_str()] {
        let r = store
            .search_holders(
                &acc,
                &query(&[("nome", "m")]),
                &PageRequest {
                    size: 1,
                    cursor: Some(bad.to_owned()),
                },
            )
            .await;
        assert_eq!(r, Err(StoreError::InvalidCursor), "{bad}");
    }
    let r = store
        .mailboxes(
            &acc,
            &ItemFilter::default(),
            &PageRequest {
                size: 1,
                cursor: Some(cursor),
            },
        )
        .await;
    assert_eq!(r.unwrap_err(), StoreError::InvalidCursor);
}

pub fn sample_mailbox(address: &str, holder: &str) -> Mailbox {
    let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
    Mailbox {
        address: EmailAddress::parse(address).unwrap(),
        holder_id: HolderId::parse(holder).unwrap(),
        status: ServiceStatus::Certificato,
        kind: "Standard".into(),
        inbox_gb: 1,
        inbox_extra_gb: 0,
        archive_gb: None,
        end_of_service: date("2027-06-30"),
        requested_on: date("2011-06-30"),
        certified_on: Some(date("2011-06-30")),
        cancelled_on: None,
        renewal: "A Scadenza".into(),
        duration: "1 Anno".into(),
        cliente_finale: false,
        password_hash: None,
        password_reset_required: false,
        password_reset_issued_at: None,
        password_reset_links: 0,
        moved_by: None,
        password_reset_to: None,
        access_history: vec![],
        rules: vec![],
        source_version: 0,
    }
}

pub fn sample_domain(name: &str, holder: &str) -> CertifiedDomain {
    CertifiedDomain {
        name: name.into(),
        holder_id: HolderId::parse(holder).unwrap(),
        status: ServiceStatus::Attivo,
        registered_on: "2020-01-15".parse().unwrap(),
        end_of_service: "2027-01-15".parse().unwrap(),
        source_version: 0,
    }
}

/// A transfer of `account` whose parties have demo contacts, open until `deadline`.
pub fn sample_transfer(
    id: u64,
    account: &AccountId,
    deadline: i64,
) -> titolare_domain::transfer::Transfer {
    use titolare_domain::transfer::*;
    use titolare_domain::values::MobileNumber;
    let contact = |n: u32| {
        Contact::new(
            MobileNumber::parse(&format!("+39 333 000 {n:04}")).unwrap(),
            EmailAddress::parse(&format!("party{n}@example.it")).unwrap(),
            Lingua::It,
            None,
        )
    };
    let card = |n: u64| HolderCard {
        id: HolderId::from_number(n),
        tipo: Tipo::Privato,
        name: format!("titolare {n}"),
        ragione_sociale: None,
        codice_fiscale: None,
        partita_iva: None,
    };
    Transfer {
        id: TransferId::from_number(id),
        account: account.clone(),
        status: TransferStatus::Open,
        created_at: jiff::Timestamp::from_second(NOW).unwrap(),
        deadline: jiff::Timestamp::from_second(deadline).unwrap(),
        initiator: contact(1),
        current_holder: contact(2),
        new_holder: contact(3),
        current_holder_card: card(19),
        new_holder_card: card(20),
        management: Management::Keep,
        items: vec![TransferItem {
            item: ItemRef::parse(ItemKind::Mailbox, &format!("m{id}@pec.it")).unwrap(),
            current_holder: Some(true),
            new_holder: Some(true),
            outcome: None,
        }],
        // Both holders are at their code steps.
        progress: Progress {
            initiator: vec![Step::Sms],
            current_holder: vec![Step::Decisions],
            new_holder: vec![Step::Decisions, Step::Contract],
            ..Progress::default()
        },
        ended_at: None,
        retain_until: None,
        audit: vec![],
        audit_omitted: 0,
        hold_until: None,
        reminders: Vec::new(),
        platform: Vec::new(),
    }
}

/// The same request as a draft: the initiator has not verified it yet.
pub fn sample_draft(
    id: u64,
    account: &AccountId,
    deadline: i64,
) -> titolare_domain::transfer::Transfer {
    let mut t = sample_transfer(id, account, deadline);
    t.status = titolare_domain::transfer::TransferStatus::Draft;
    t.progress.initiator.clear();
    t
}

/// Commits a code send of a stored request: the challenge and its message.
pub async fn record_send(
    store: &dyn TransferWriter,
    transfer: &Versioned<titolare_domain::transfer::Transfer>,
    before: Option<u64>,
    challenge: &titolare_domain::otp::Challenge,
    message: &titolare_domain::outbox::OutboxMessage,
) -> Result<(), StoreError> {
    let mut commit = bookkept(
        TransferCondition::Unchanged(transfer.version),
        Some(&transfer.value),
        &transfer.value,
        None,
    );
    commit.challenge = Some((before, challenge));
    commit.messages = vec![message.clone()];
    store.commit(&commit).await
}

fn first_code(
    transfer: &titolare_domain::transfer::Transfer,
) -> (
    titolare_domain::otp::Challenge,
    titolare_domain::outbox::OutboxMessage,
) {
    use titolare_domain::otp::*;
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    let c = Challenge::send(
        None,
        &transfer.id,
        Party::CurrentHolder,
        Channel::Sms,
        transfer.current_holder.mobile.as_str(),
        now,
        &CodePolicy::default(),
    )
    .unwrap();
    let m = titolare_domain::outbox::OutboxMessage::code(&c, transfer, now);
    (c, m)
}

pub(crate) fn transfer_id() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64;
    nanos * 100 + N.fetch_add(1, Ordering::Relaxed) % 100
}

/// A stored request of a new account, with its current holder's first SMS code sent.
async fn transfer_with_code(
    store: &TableStore,
    name: &str,
    deadline: i64,
) -> (
    titolare_domain::transfer::Transfer,
    Versioned<titolare_domain::transfer::Transfer>,
    titolare_domain::otp::Challenge,
    titolare_domain::outbox::OutboxMessage,
) {
    let t = sample_transfer(transfer_id(), &account(name), deadline);
    store.put_transfer(&t).await.unwrap();
    let transfer = store.transfer(&t.id).await.unwrap().unwrap();
    let (challenge, message) = first_code(&t);
    record_send(store, &transfer, None, &challenge, &message)
        .await
        .unwrap();
    let transfer = store.transfer(&t.id).await.unwrap().unwrap();
    (t, transfer, challenge, message)
}

pub async fn a_send_writes_challenge_and_message_together(b: Arc<dyn ItemBackend>) {
    use titolare_domain::otp::*;
    let (store, _) = store(b);
    let (t, transfer, challenge, message) = transfer_with_code(&store, "send", NOW + 3600).await;
    // The same send again: the challenge exists now and the message id is taken.
    assert_eq!(
        record_send(&store, &transfer, None, &challenge, &message).await,
        Err(StoreError::Conflict)
    );
    let stored = store
        .challenge(&t.id, Party::CurrentHolder, Channel::Sms)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value, challenge);
    let messages = store.outbox_messages(&t.id).await.unwrap();
    assert_eq!(messages, std::slice::from_ref(&message));
    // A transfer changed meanwhile refuses the send, and nothing of it is written.
    let mut changed = t.clone();
    changed.status = titolare_domain::transfer::TransferStatus::Cancelled;
    store.put_transfer(&changed).await.unwrap();
    let later = jiff::Timestamp::from_second(NOW + 120).unwrap();
    let resend = Challenge::send(
        Some(&stored.value),
        &t.id,
        Party::CurrentHolder,
        Channel::Sms,
        &stored.value.destination,
        later,
        &CodePolicy::default(),
    )
    .unwrap();
    let resend_message = titolare_domain::outbox::OutboxMessage::code(&resend, &t, later);
    assert_eq!(
        record_send(
            &store,
            &transfer,
            Some(stored.version),
            &resend,
            &resend_message
        )
        .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.outbox_messages(&t.id).await.unwrap().len(), 1);
    assert_eq!(
        store
            .challenge(&t.id, Party::CurrentHolder, Channel::Sms)
            .await
            .unwrap()
            .unwrap(),
        stored
    );
    // Delivery results update message and challenge together.
    let sent = store
        .outbox_message(&t.id, &message.id)
        .await
        .unwrap()
        .unwrap();
    let mut delivered = sent.value.clone();
    delivered.status = titolare_domain::outbox::DeliveryStatus::Sent;
    delivered.provider_id = Some("0100018c-provider-id".into());
    delivered.to = None;
    assert_eq!(
        store.sent_message("0100018c-provider-id").await.unwrap(),
        None,
        "nothing sent under that id yet"
    );
    let mut c = stored.value.clone();
    c.delivery = Delivery::Sent;
    store
        .update_outbox(
            sent.version,
            &delivered,
            Some(&Versioned {
                value: c.clone(),
                version: stored.version,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        store.update_outbox(sent.version, &delivered, None).await,
        Err(StoreError::Conflict),
        "stale version"
    );
    assert_eq!(
        store
            .challenge(&t.id, Party::CurrentHolder, Channel::Sms)
            .await
            .unwrap()
            .unwrap()
            .value
            .delivery,
        Delivery::Sent
    );
    assert_eq!(
        store
            .outbox_message(&t.id, &message.id)
            .await
            .unwrap()
            .unwrap()
            .value
            .to,
        None
    );
    // The provider's id finds the message its reports are about.
    assert_eq!(
        store.sent_message("0100018c-provider-id").await.unwrap(),
        Some((t.id.clone(), message.id.clone()))
    );
}

/// Twenty verifiers of one code race, each reading request and challenge itself once all
/// are ready: exactly one approval is written, and the challenge is one version on.
pub async fn concurrent_verifications_apply_once(b: Arc<dyn ItemBackend>) {
    use titolare_domain::otp::*;
    const VERIFIERS: usize = 20;
    let (store, _) = store(b);
    let (t, _, _, _) = transfer_with_code(&store, "verify", NOW + 3600).await;
    let first = store
        .challenge(&t.id, Party::CurrentHolder, Channel::Sms)
        .await
        .unwrap()
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(VERIFIERS));
    let mut tasks = Vec::new();
    for _ in 0..VERIFIERS {
        let (store, id, start) = (store.clone(), t.id.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let transfer = store.transfer(&id).await?.unwrap();
            let read = store
                .challenge(&id, Party::CurrentHolder, Channel::Sms)
                .await?
                .unwrap();
            if read.value.status == ChallengeStatus::Approved {
                // Someone was first: nothing to write.
                return Err(StoreError::Conflict);
            }
            let mut approved = read.value.clone();
            approved.status = ChallengeStatus::Approved;
            let mut commit = bookkept(
                TransferCondition::Unchanged(transfer.version),
                Some(&transfer.value),
                &transfer.value,
                None,
            );
            commit.challenge = Some((Some(read.version), &approved));
            store.commit(&commit).await
        }));
    }
    assert_eq!(successes(tasks).await, 1);
    let last = store
        .challenge(&t.id, Party::CurrentHolder, Channel::Sms)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (last.value.status, last.version),
        (ChallengeStatus::Approved, first.version + 1)
    );
}

pub async fn transfer_items_expire_with_it(b: Arc<dyn ItemBackend>) {
    use titolare_domain::otp::*;
    let (store, clock) = store(b);
    let (t, _, _, _) = transfer_with_code(&store, "expiry", NOW + 60).await;
    clock.set(NOW + 60);
    // The transfer itself stays readable until the store deletes it, to tell why (410).
    assert!(
        store
            .transfer(&t.id)
            .await
            .unwrap()
            .unwrap()
            .value
            .accepts_steps(clock.now())
            .is_err()
    );
    assert!(
        store
            .challenge(&t.id, Party::CurrentHolder, Channel::Sms)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.outbox_messages(&t.id).await.unwrap().is_empty());
}
