//! `infra/scripts/bench` runs this (release build, moto started by the script):
//! 1. items the store reads for a search by cognome, in an account of N holders, for two N
//!    on each store: the cost must not grow with the account (goal: ratio ≤ 1.1);
//! 2. store calls per step of a transfer and the CPU time of a whole change of holder (steps.rs);
//! 3. requests/s of the local gateway binary for `GET /v1/holders/{id}` (goal ≥ 10,000).
//!
//! Results go to `infra/bench/RESULTS.md`.

mod steps;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use titolare_domain::ports::{Fixtures, HolderSearch};
use titolare_domain::{AccountId, HolderQuery, PageRequest, Tipo};
use titolare_store::clock::SystemClock;
use titolare_store::conformance::person;
use titolare_store::probes::CountingBackend;
use titolare_store::{BackendError, ItemBackend, TableStore, Write};
use titolare_store_dynamodb::{DynamoBackend, testing};
use titolare_store_embedded::EmbeddedBackend;

const SURNAMES: &[&str] = &[
    "Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
    "Gallo", "Conti", "Costa", "Giordano", "Mancini", "Rizzo", "Lombardi", "Moretti", "Barbieri",
    "Fontana", "Santoro",
];
const NAMES: &[&str] = &[
    "Mario", "Luca", "Giulia", "Sara", "Paolo", "Anna", "Marco", "Elena", "Davide", "Chiara",
];

/// An account of `n` holders, three of whom are surnamed "Test…"; the rest never match.
async fn fill(store: &TableStore, account: &AccountId, n: u64, concurrency: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (store, account, next) = (store.clone(), account.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (cognome, nome) = match i {
                    0 => ("Test", "Uno"),
                    1 => ("Testa", "Due"),
                    2 => ("Testoni", "Tre"),
                    _ => (
                        SURNAMES[(i as usize) % SURNAMES.len()],
                        NAMES[(i as usize / SURNAMES.len()) % NAMES.len()],
                    ),
                };
                store
                    .seed_holder(&account, &person(100 + i, Tipo::Privato, cognome, nome))
                    .await
                    .expect("seed holder");
            }
        }));
    }
    for t in tasks {
        t.await.expect("filler");
    }
}

/// Items read to answer `cognome=test` (first page) in accounts of `small` and `large` holders.
async fn search_reads(
    label: &str,
    backend: Arc<dyn ItemBackend>,
    loader: Arc<dyn ItemBackend>,
    sizes: [u64; 2],
    concurrency: usize,
    report: &mut String,
) {
    let counting = Arc::new(CountingBackend::new(backend));
    let reader = TableStore::new(counting.clone(), Arc::new(SystemClock));
    let writer = TableStore::new(loader, Arc::new(SystemClock));
    let query = HolderQuery::parse(
        &[("cognome".to_owned(), "test".to_owned())]
            .into_iter()
            .collect(),
    )
    .expect("query");
    let mut reads = Vec::new();
    for n in sizes {
        let slug: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
        let account = AccountId::parse(&format!("bench-{slug}-{n}")).expect("account");
        let started = Instant::now();
        fill(&writer, &account, n, concurrency).await;
        let fill_secs = started.elapsed().as_secs_f64();
        counting.reset();
        let started = Instant::now();
        let page = reader
            .search_holders(&account, &query, &PageRequest::default())
            .await
            .expect("search");
        let micros = started.elapsed().as_micros();
        assert_eq!(page.total, Some(3));
        let counts = counting.counts();
        println!(
            "{label}: {n} holders (loaded in {fill_secs:.1} s): {} items read in {} calls, {micros} µs",
            counts.items_read, counts.reads
        );
        let _ = writeln!(
            report,
            "| {label} | {n} | {} | {} | {micros} |",
            counts.items_read, counts.reads
        );
        reads.push(counts.items_read as f64);
    }
    let ratio = reads[1] / reads[0];
    let _ = writeln!(
        report,
        "| {label} | ratio {}/{} | **{ratio:.2}** | | |",
        sizes[1], sizes[0]
    );
}

async fn gateway_throughput(report: &mut String) {
    let data_dir = std::env::temp_dir().join(format!("titolare-bench-gw-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let binary = std::env::var("TITOLARE_LOCAL_BIN")
        .unwrap_or_else(|_| "target/release/titolare-local".into());
    let mut child = tokio::process::Command::new(&binary)
        .env("PORT", port.to_string())
        .env("TITOLARE_DATA_DIR", &data_dir)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http();
    let mut token = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let login = hyper::Request::post(format!("{base}/dev/login")).body(
            http_body_util::Full::new(Bytes::from_static(br#"{"username":"demo"}"#)),
        );
        let raw: Client<_, http_body_util::Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        if let Ok(response) = raw.request(login.expect("login request")).await {
            let body = response
                .into_body()
                .collect()
                .await
                .expect("login body")
                .to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&body).expect("login json");
            token = json["token"].as_str().map(str::to_owned);
            break;
        }
    }
    let token = Arc::new(token.expect("the gateway answers /dev/login"));
    let (connections, seconds) = (32, 10);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, token, done, failed, uri) = (
            client.clone(),
            token.clone(),
            done.clone(),
            failed.clone(),
            format!("{base}/v1/holders/963300"),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let request = hyper::Request::get(&uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Empty::new())
                    .expect("request");
                match client.request(request).await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.into_body().collect().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    let rps = done.load(Ordering::Relaxed) as f64 / seconds as f64;
    println!(
        "local gateway: {rps:.0} req/s over {connections} connections for {seconds} s ({} failed)",
        failed.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        report,
        "\n## Local gateway throughput\n\n`GET /v1/holders/963300` on the release `titolare-local` binary, {connections} keep-alive connections for {seconds} s from a client in another process on the same machine (both share its cores).\n\n| requests/s | failed |\n|---:|---:|\n| **{rps:.0}** | {} |",
        failed.load(Ordering::Relaxed)
    );
}

/// Loads through BatchWriteItem: moto copies the whole table for every transaction (and does
/// so unsafely under concurrency), which would make loading 20,000 holders quadratic.
struct BatchLoader(DynamoBackend);

#[async_trait::async_trait]
impl ItemBackend for BatchLoader {
    async fn get(
        &self,
        pk: &str,
        sk: &str,
        now: i64,
    ) -> Result<Option<titolare_store::Item>, BackendError> {
        self.0.get(pk, sk, now).await
    }

    async fn query(
        &self,
        query: &titolare_store::Query,
        now: i64,
    ) -> Result<titolare_store::QueryPage, BackendError> {
        self.0.query(query, now).await
    }

    async fn count(
        &self,
        pk: &str,
        sk_prefix: &str,
        now: i64,
    ) -> Result<titolare_store::Count, BackendError> {
        self.0.count(pk, sk_prefix, now).await
    }

    async fn transact(&self, writes: &[Write], _now: i64) -> Result<(), BackendError> {
        let items: Vec<_> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } => Some(item.clone()),
                _ => None,
            })
            .collect();
        self.0.batch_put(&items).await
    }

    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        self.0.next_sequence(name).await
    }
}

#[tokio::main]
async fn main() {
    // `coldstart-fixture KEY_HEX`: the cold-start benchmark's table (see coldstart.py).
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("coldstart-fixture") {
        let key = titolare_domain::secret::SecretKey::parse(args.get(2).expect("a key"))
            .expect("a 64-hex-digit key");
        println!("{}", steps::coldstart_fixture(key).await);
        return;
    }
    // `steps`: the steps' store calls, request units and cost only, printed.
    if args.get(1).map(String::as_str) == Some("steps") {
        let mut report = String::new();
        steps::step_costs(&mut report).await;
        println!("{report}");
        return;
    }
    let mut report = String::new();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let _ = writeln!(
        report,
        "# Benchmark results\n\nWritten by `infra/scripts/bench` on {} ({cores} cores).\n\n## Store reads per search\n\nItems the store read (expired ones included; DynamoDB's ScannedCount) to answer `GET /v1/holders?cognome=test` (three matches) in one account of N holders. Goal: the large/small ratio ≤ 1.1.\n\n| store | holders in the account | items read | store calls | µs |\n|---|---:|---:|---:|---:|",
        jiff::Timestamp::now().strftime("%Y-%m-%d")
    );

    let dir = std::env::temp_dir().join(format!("titolare-bench-{}", std::process::id()));
    let embedded = EmbeddedBackend::open(&dir.join("bench.redb")).expect("embedded store");
    let loader: Arc<dyn ItemBackend> = Arc::new(embedded.bulk_loader());
    search_reads(
        "embedded",
        Arc::new(embedded.clone()),
        loader,
        [1_000, 100_000],
        1,
        &mut report,
    )
    .await;
    embedded.flush().expect("flush");
    let _ = std::fs::remove_dir_all(&dir);

    let (client, table) = testing::fresh_table("bench").await;
    let dynamo = DynamoBackend::new(client, table);
    let loader: Arc<dyn ItemBackend> = Arc::new(BatchLoader(dynamo.clone()));
    // moto serves one request at a time safely: load sequentially.
    search_reads(
        "dynamodb (moto)",
        Arc::new(dynamo),
        loader,
        [1_000, 20_000],
        1,
        &mut report,
    )
    .await;

    steps::step_costs(&mut report).await;
    gateway_throughput(&mut report).await;
    std::fs::write("infra/bench/RESULTS.md", &report).expect("write infra/bench/RESULTS.md");
    println!("\nwritten to infra/bench/RESULTS.md");
}
