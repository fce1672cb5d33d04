//! `titolare-admin import`, the real binary on the embedded store: JSON lines and CSV rows
//! through the queue's rules, rejected lines reported by number with a reason naming no datum,
//! a file loaded again writing nothing, and a run continuing after the last whole batch.

use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use titolare_domain::ports::{AccountReader, MailboxReader};
use titolare_store::TableStore;
use titolare_store::clock::SystemClock;

fn import(file: &Path, data: &Path, kind: &str) -> Value {
    let out = std::process::Command::new(titolare_e2e::workspace_binary("titolare-admin"))
        .args(["import"])
        .arg(file)
        .args(["--kind", kind, "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap()
}

fn scratch() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "titolare-admin-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mailbox(n: u32, version: u64) -> Value {
    json!({
        "schema": 1, "type": "mailbox.upserted", "version": version, "account": "bulk",
        "mailbox": { "address": format!("casella{n}@pec.it"), "holder_id": "19", "status": "Attivo",
            "kind": "Standard", "inbox_gb": 1, "end_of_service": "2027-06-30",
            "requested_on": "2020-06-30", "renewal": "A Scadenza", "duration": "1 Anno" }
    })
}

async fn store(data: &Path) -> TableStore {
    let backend =
        titolare_store_embedded::EmbeddedBackend::open(&data.join("titolare.redb")).unwrap();
    TableStore::new(Arc::new(backend), Arc::new(SystemClock))
}

#[tokio::test]
async fn a_first_import_applies_reports_and_resumes() {
    let dir = scratch();
    let data = dir.join("data");
    let file = dir.join("mailboxes.jsonl");
    let mut lines: Vec<String> = (0..2500).map(|n| mailbox(n, 1).to_string()).collect();
    lines[10] = "{not json".into();
    lines[20] = mailbox(20, 0).to_string();
    lines[30] = json!({"schema": 1, "type": "domain.removed", "version": 1, "account": "bulk", "name": "x-pec.it"}).to_string();
    // One mailbox in two batches (1,000 lines each on the embedded store), the newer first.
    lines[100] = mailbox(9000, 2).to_string();
    lines[1100] = mailbox(9000, 1).to_string();
    lines[40] = mailbox(40, 1)
        .to_string()
        .replace("casella40@pec.it", "non-un-indirizzo");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let first = import(&file, &data, "mailboxes");
    assert_eq!(
        (
            first["lines"].as_u64(),
            first["applied"].as_u64(),
            first["rejected"].as_u64()
        ),
        (Some(2500), Some(2495), Some(4))
    );
    let report = std::fs::read_to_string(dir.join("mailboxes.jsonl.rejected")).unwrap();
    let numbers: Vec<&str> = report
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(numbers, ["11", "21", "31", "41"], "{report}");
    assert!(
        report.contains("version 0") && report.contains("not a message of this import"),
        "{report}"
    );
    assert!(
        !report.contains("non-un-indirizzo"),
        "a reason names no datum: {report}"
    );

    // The same file again, from the start: every line already there, nothing written.
    std::fs::remove_file(dir.join("mailboxes.jsonl.progress")).unwrap();
    let again = import(&file, &data, "mailboxes");
    assert_eq!(
        (
            again["applied"].as_u64(),
            again["stale"].as_u64(),
            again["write_units"].as_u64()
        ),
        (Some(0), Some(2496), Some(0))
    );

    // A run that stopped after line 1,000 continues after it; newer versions apply.
    let mut newer: Vec<String> = (0..2500).map(|n| mailbox(n, 2).to_string()).collect();
    newer[1999] = mailbox(1999, 3).to_string();
    std::fs::write(&file, newer.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.join("mailboxes.jsonl.progress"),
        r#"{"done":1000,"reported":1000}"#,
    )
    .unwrap();
    let resumed = import(&file, &data, "mailboxes");
    assert_eq!(
        (
            resumed["resumed_after_line"].as_u64(),
            resumed["lines"].as_u64(),
            resumed["applied"].as_u64()
        ),
        (Some(1000), Some(1500), Some(1500))
    );
    let s = store(&data).await;
    let bulk = titolare_domain::AccountId::parse("bulk").unwrap();
    let read = |n: u32| {
        titolare_domain::values::EmailAddress::parse(&format!("casella{n}@pec.it")).unwrap()
    };
    assert_eq!(
        s.mailbox(&bulk, &read(5))
            .await
            .unwrap()
            .unwrap()
            .source_version,
        1,
        "before the resume point"
    );
    assert_eq!(
        s.mailbox(&bulk, &read(9000))
            .await
            .unwrap()
            .unwrap()
            .source_version,
        2,
        "the newer line wins, whichever batch is written first"
    );
    assert_eq!(
        s.mailbox(&bulk, &read(1999))
            .await
            .unwrap()
            .unwrap()
            .source_version,
        3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn csv_rows_are_the_messages_their_columns_name() {
    let dir = scratch();
    let data = dir.join("data");
    let accounts = dir.join("accounts.csv");
    std::fs::write(&accounts, "account,version,username,role,own_holder_id\nbulk,1,bulk,rivenditore,19\nother,1,,cliente,\n").unwrap();
    let summary = import(&accounts, &data, "accounts");
    assert_eq!(
        (summary["applied"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    let report = std::fs::read_to_string(dir.join("accounts.csv.rejected")).unwrap();
    assert!(report.starts_with("3\t"), "the header is line 1: {report}");
    let mailboxes = dir.join("mailboxes.csv");
    std::fs::write(
        &mailboxes,
        "account,version,address,holder_id,status,kind,inbox_gb,end_of_service,requested_on,renewal,duration,cliente_finale\n\
         bulk,4,Teste1234@PEC.it,534905,Attivo,Pro,2,2027-06-30,2011-06-30,A Scadenza,1 Anno,true\n\
         bulk,4,altra@pec.it,534905,Attivo,Pro,due,2027-06-30,2011-06-30,A Scadenza,1 Anno,false\n\
         bulk,4,troppe@pec.it\n",
    )
    .unwrap();
    let summary = import(&mailboxes, &data, "mailboxes");
    assert_eq!(
        (summary["applied"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(2))
    );
    let report = std::fs::read_to_string(dir.join("mailboxes.csv.rejected")).unwrap();
    assert!(
        report.contains("3\tinbox_gb: not a whole number"),
        "{report}"
    );
    assert!(
        report.contains("4\ta row of another number of columns"),
        "{report}"
    );
    let s = store(&data).await;
    let bulk = titolare_domain::AccountId::parse("bulk").unwrap();
    let m = s
        .mailbox(
            &bulk,
            &titolare_domain::values::EmailAddress::parse("teste1234@pec.it").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.source_version, m.inbox_gb, m.cliente_finale),
        (4, 2, true)
    );
    assert_eq!(
        s.account_by_username("bulk").await.unwrap().unwrap().id,
        bulk
    );
    let _ = std::fs::remove_dir_all(&dir);
}
