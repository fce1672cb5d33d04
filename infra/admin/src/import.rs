//! The import: lines read in order, in batches (100 lines for DynamoDB, several in flight;
//! 5,000 for the embedded store, one durable commit each), each batch applied by
//! `apply_inventory_batch` (one read of its entities, the new ones written together, the
//! others conditionally). The progress file names the last line up to which every batch is
//! written, so a killed import run again starts at most the batches in flight back, and
//! those write nothing twice: they are read again, found as new as the file, and left.

use crate::rows::{self, Kind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use titolare_domain::AccountId;
use titolare_domain::inventory::{Change, Entity, InventoryMessage, Verdict};
use titolare_domain::ports::InventoryWriter;
use titolare_store::clock::SystemClock;
use titolare_store::probes::CountingBackend;
use titolare_store::{ItemBackend, TableStore};

pub struct Options {
    pub file: PathBuf,
    pub kind: Kind,
    pub table: Option<String>,
    pub data_dir: PathBuf,
    pub concurrency: usize,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub store: &'static str,
    pub lines: u64,
    /// The line this run started after (0: from the start).
    pub resumed_after_line: u64,
    pub applied: u64,
    pub stale: u64,
    pub rejected: u64,
    pub seconds: f64,
    pub lines_per_second: f64,
    pub read_units: u64,
    pub write_units: u64,
    pub write_calls: u64,
    pub peak_memory_mib: f64,
}

/// Where a run left off: every line up to `done` is written; rejections up to `reported`
/// are in the report already.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Progress {
    done: u64,
    reported: u64,
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn load_progress(path: &Path) -> Progress {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_progress(path: &Path, progress: Progress) -> Result<(), String> {
    let temp = with_suffix(path, ".new");
    std::fs::write(
        &temp,
        serde_json::to_string(&progress).map_err(|e| e.to_string())?,
    )
    .and_then(|()| std::fs::rename(&temp, path))
    .map_err(|e| format!("{}: {e}", path.display()))
}

/// The lines of the file as messages (or the reason each is refused), with their numbers and
/// the bytes read so far.
enum Lines {
    Json(std::io::Lines<std::io::BufReader<std::fs::File>>, u64),
    Csv(csv::StringRecordsIntoIter<std::fs::File>, csv::StringRecord),
}

struct Line {
    number: u64,
    bytes: u64,
    raw: Raw,
}

/// A line as read, parsed only if it is to be imported (a resumed run skips fast).
enum Raw {
    Json(Result<String, String>),
    Csv(Result<csv::StringRecord, String>),
}

impl Lines {
    fn open(file: &Path) -> Result<Self, String> {
        let opened = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        if file.extension().is_some_and(|e| e == "csv") {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(false)
                .from_reader(opened);
            let header = reader
                .headers()
                .map_err(|e| format!("the CSV header: {e}"))?
                .clone();
            Ok(Self::Csv(reader.into_records(), header))
        } else {
            Ok(Self::Json(
                std::io::BufReader::with_capacity(1 << 20, opened).lines(),
                0,
            ))
        }
    }

    fn next(&mut self, number: u64) -> Option<Line> {
        match self {
            Self::Json(lines, bytes) => {
                let text = lines.next()?;
                if let Ok(text) = &text {
                    *bytes += text.len() as u64 + 1;
                }
                let raw = Raw::Json(text.map_err(|e| format!("unreadable line: {:?}", e.kind())));
                Some(Line {
                    number,
                    bytes: *bytes,
                    raw,
                })
            }
            Self::Csv(records, _) => {
                let record = records.next()?;
                let bytes = record
                    .as_ref()
                    .ok()
                    .and_then(|r| r.position())
                    .map_or(0, |p| p.byte());
                // csv's message may quote the row: say what kind of fault only.
                let raw = Raw::Csv(record.map_err(|e| match e.kind() {
                    csv::ErrorKind::UnequalLengths { .. } => {
                        "a row of another number of columns".to_owned()
                    }
                    _ => "unreadable row".to_owned(),
                }));
                // The header is line 1.
                Some(Line {
                    number: number + 1,
                    bytes,
                    raw,
                })
            }
        }
    }

    fn parse(&self, raw: Raw, kind: Kind) -> Result<InventoryMessage, String> {
        match (self, raw) {
            (_, Raw::Json(text)) => rows::from_json(&text?, kind),
            (Self::Csv(_, header), Raw::Csv(row)) => rows::from_csv(header, &row?, kind),
            (Self::Json(..), Raw::Csv(_)) => Err("unreadable line".into()),
        }
    }
}

/// Lines per batch on the embedded store (one durable commit each).
const EMBEDDED_BATCH: usize = 1_000;

/// The store the import writes to, and its batch size and parallelism.
async fn open_store(
    o: &Options,
) -> Result<(Arc<dyn ItemBackend>, &'static str, usize, usize), String> {
    Ok(match &o.table {
        Some(table) => {
            let backend = titolare_store_dynamodb::DynamoBackend::from_env(table.clone()).await;
            (Arc::new(backend), "dynamodb", 100, o.concurrency)
        }
        None => {
            let path = o.data_dir.join("titolare.redb");
            // A 16 MiB page cache: the import stays small in memory whatever the file's size.
            let backend =
                titolare_store_embedded::EmbeddedBackend::open_with_cache(&path, Some(16 << 20))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            (Arc::new(backend), "embedded", EMBEDDED_BATCH, 2)
        }
    })
}

pub async fn run(o: &Options) -> Result<Summary, String> {
    let (backend, store_name, batch, in_flight) = open_store(o).await?;
    let counting = Arc::new(CountingBackend::new(backend));
    let store = Arc::new(TableStore::new(counting.clone(), Arc::new(SystemClock)));
    let progress_path = with_suffix(&o.file, ".progress");
    let report_path = with_suffix(&o.file, ".rejected");
    let mut progress = load_progress(&progress_path);
    let resumed_after = progress.done;
    let mut report = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed_after > 0)
        .truncate(resumed_after == 0)
        .open(&report_path)
        .map_err(|e| format!("{}: {e}", report_path.display()))?;
    let total = std::fs::metadata(&o.file).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {per_sec} {eta} {msg}",
        )
        .map_err(|e| e.to_string())?,
    );
    let started = std::time::Instant::now();
    let mut lines = Lines::open(&o.file)?;
    let mut summary = Summary {
        store: store_name,
        resumed_after_line: resumed_after,
        ..Summary::default()
    };
    let mut tasks = tokio::task::JoinSet::new();
    // Batches done out of order, by number, until those before them are done too.
    let mut finished: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut next_batch, mut next_to_finish) = (0u64, 0u64);
    let mut number = 0u64;
    let mut reading = true;
    // A batch read but not yet sent: it names an entity a batch in flight writes too, and
    // two unconditional writes of one entity must not race (the later line would not
    // always win); it waits for that batch.
    let mut waiting: Option<(Vec<InventoryMessage>, u64, HashSet<Entity>)> = None;
    let mut in_flight_entities: HashMap<u64, HashSet<Entity>> = HashMap::new();
    // Accounts found with no tombstone at their first line (nothing but this import writes
    // them): their batches read records only, half the reads of a first import. An account
    // with a removal in the file reads tombstones from that batch on. Up to 100,000
    // accounts are remembered; beyond, tombstones are read.
    let mut without_removals: Arc<HashSet<AccountId>> = Arc::default();
    let mut checked: HashSet<AccountId> = HashSet::new();
    while reading || waiting.is_some() || !tasks.is_empty() {
        // Read a batch while fewer than `in_flight` are being written.
        if waiting.is_none() && reading && tasks.len() < in_flight {
            let mut messages = Vec::with_capacity(batch);
            let mut last = number;
            while messages.len() < batch {
                number += 1;
                let Some(line) = lines.next(number) else {
                    reading = false;
                    break;
                };
                last = line.number;
                bar.set_position(line.bytes);
                if line.number <= progress.done {
                    continue;
                }
                summary.lines += 1;
                match lines.parse(line.raw, o.kind) {
                    Ok(m) => messages.push(m),
                    Err(reason) => {
                        summary.rejected += 1;
                        if line.number > progress.reported {
                            use std::io::Write;
                            writeln!(report, "{}\t{reason}", line.number)
                                .map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
            for message in &messages {
                let account = match message.entity() {
                    Entity::Account(a) | Entity::Mailbox(a, _) | Entity::Domain(a, _) => a,
                };
                let removal = matches!(
                    message.change,
                    Change::MailboxRemoved { .. } | Change::DomainRemoved { .. }
                );
                if removal {
                    // Never taken as clean again: this import writes its tombstones.
                    if without_removals.contains(&account) {
                        Arc::make_mut(&mut without_removals).remove(&account);
                    }
                    if checked.len() < 100_000 {
                        checked.insert(account);
                    }
                } else if checked.len() < 100_000 && checked.insert(account.clone()) {
                    let has = store
                        .has_removals(&account)
                        .await
                        .map_err(|e| format!("the store: {e}"))?;
                    if !has {
                        Arc::make_mut(&mut without_removals).insert(account);
                    }
                }
            }
            let entities = messages.iter().map(InventoryMessage::entity).collect();
            waiting = Some((messages, last, entities));
        }
        if let Some((_, _, entities)) = &waiting {
            let clashes = in_flight_entities
                .values()
                .any(|busy| !busy.is_disjoint(entities));
            if !clashes && tasks.len() < in_flight {
                let (messages, last, entities) = waiting.take().unwrap_or_default();
                let (store, id, clean) = (store.clone(), next_batch, without_removals.clone());
                next_batch += 1;
                in_flight_entities.insert(id, entities);
                tasks.spawn(async move {
                    let verdicts = if messages.is_empty() {
                        Ok(Vec::new())
                    } else {
                        store.apply_inventory_batch(&messages, &clean).await
                    };
                    (id, last, verdicts)
                });
                continue;
            }
        }
        let Some(joined) = tasks.join_next().await else {
            continue;
        };
        let (id, last, verdicts) = joined.map_err(|e| e.to_string())?;
        in_flight_entities.remove(&id);
        let verdicts = verdicts.map_err(|e| format!("the store: {e}"))?;
        summary.applied += verdicts.iter().filter(|v| **v == Verdict::Apply).count() as u64;
        summary.stale += verdicts.iter().filter(|v| **v == Verdict::Stale).count() as u64;
        finished.insert(id, last);
        let mut advanced = false;
        while let Some(last) = finished.remove(&next_to_finish) {
            progress.done = progress.done.max(last);
            next_to_finish += 1;
            advanced = true;
        }
        if advanced {
            progress.reported = progress.reported.max(progress.done);
            save_progress(&progress_path, progress)?;
            bar.set_message(format!("{} scritte", summary.applied));
        }
    }
    bar.finish_and_clear();
    let counts = counting.counts();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.lines_per_second = summary.lines as f64 / summary.seconds.max(1e-9);
    summary.read_units = counts.read_units;
    summary.write_units = counts.write_units;
    summary.write_calls = counts.writes;
    summary.peak_memory_mib = peak_memory_mib();
    eprintln!(
        "{} lines in {:.1} s ({:.0}/s): {} applied, {} already there, {} rejected (in {})",
        summary.lines,
        summary.seconds,
        summary.lines_per_second,
        summary.applied,
        summary.stale,
        summary.rejected,
        report_path.display()
    );
    Ok(summary)
}

/// The process's peak resident memory (Linux's VmHWM), in MiB.
fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
