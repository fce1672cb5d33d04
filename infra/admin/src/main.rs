//! `titolare-admin`: the provider's first import of its inventory (docs/rules.md, "The bulk
//! loader").
//!
//! ```text
//! titolare-admin import FILE [--kind mailboxes|domains|accounts|all] [--table NAME | --data-dir DIR]
//!                            [--concurrency N (DynamoDB; default 32)]
//! titolare-admin generate mailboxes N        (a JSONL file of N mailboxes on stdout, for the benchmark)
//! ```
//!
//! `FILE` is JSON lines of inventory messages (`infra/events/inventory-v1.schema.json`) or,
//! when it ends in `.csv`, one row per mailbox, domain or account (`--kind`), columns named
//! as the message's fields plus `account` and `version`. `--table` writes to DynamoDB (the
//! SDK's environment: region, credentials, `AWS_ENDPOINT_URL`); otherwise the embedded store
//! under `--data-dir` (default `.titolare`, the local gateway's). Progress goes to
//! `FILE.progress` (an import run again continues after the last whole batch), rejected lines
//! to `FILE.rejected` (line number and reason); a summary to stderr and as JSON to stdout.

mod import;
mod rows;

use std::path::PathBuf;

fn usage() -> String {
    "usage: titolare-admin import FILE [--kind mailboxes|domains|accounts|all] [--table NAME | --data-dir DIR] [--concurrency N (DynamoDB; default 32)]\n       titolare-admin generate mailboxes N".into()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("import") => {
            let file = args.get(1).ok_or_else(usage)?;
            let mut options = import::Options {
                file: PathBuf::from(file),
                kind: rows::Kind::All,
                table: None,
                data_dir: PathBuf::from(".titolare"),
                concurrency: 32,
            };
            let mut rest = args[2..].iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or_else(usage)?;
                match flag.as_str() {
                    "--kind" => options.kind = rows::Kind::parse(value).ok_or_else(usage)?,
                    "--table" => options.table = Some(value.clone()),
                    "--data-dir" => options.data_dir = PathBuf::from(value),
                    "--concurrency" => {
                        options.concurrency =
                            value.parse().ok().filter(|n| *n > 0).ok_or_else(usage)?
                    }
                    _ => return Err(usage()),
                }
            }
            let summary = import::run(&options).await?;
            println!(
                "{}",
                serde_json::to_string(&summary).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Some("generate") if args.get(1).map(String::as_str) == Some("mailboxes") => {
            let n: u64 = args.get(2).and_then(|n| n.parse().ok()).ok_or_else(usage)?;
            rows::generate_mailboxes(n).map_err(|e| e.to_string())
        }
        _ => Err(usage()),
    }
}
