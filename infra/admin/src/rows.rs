//! One line of an import file as an inventory message: a JSON line as it is, a CSV row as
//! the message its columns name. Both go through `InventoryMessage::parse`, so a file obeys
//! exactly the queue's rules.

use std::io::Write as _;
use titolare_domain::inventory::{Change, InventoryMessage};

/// Which messages an import takes (`--kind`); a line of another kind is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mailboxes,
    Domains,
    Accounts,
    All,
}

impl Kind {
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "mailboxes" => Self::Mailboxes,
            "domains" => Self::Domains,
            "accounts" => Self::Accounts,
            "all" => Self::All,
            _ => return None,
        })
    }

    fn takes(self, change: &Change) -> bool {
        match self {
            Self::All => true,
            Self::Mailboxes => matches!(
                change,
                Change::MailboxUpserted { .. } | Change::MailboxRemoved { .. }
            ),
            Self::Domains => matches!(
                change,
                Change::DomainUpserted { .. } | Change::DomainRemoved { .. }
            ),
            Self::Accounts => matches!(change, Change::AccountUpserted { .. }),
        }
    }
}

/// A JSON line: the message, or why it is refused (no datum of the line in the reason).
pub fn from_json(line: &str, kind: Kind) -> Result<InventoryMessage, String> {
    let message = InventoryMessage::parse(line).map_err(|e| e.to_string())?;
    if !kind.takes(&message.change) {
        return Err(format!("not a message of this import (--kind {kind:?})").to_lowercase());
    }
    Ok(message)
}

/// Columns of a CSV row that are numbers or booleans in the message.
const NUMBERS: &[&str] = &["version", "inbox_gb", "inbox_extra_gb", "archive_gb"];
const BOOLEANS: &[&str] = &["cliente_finale"];

/// A CSV row under `header`: an upsert of `kind` (mailboxes, domains, accounts).
pub fn from_csv(
    header: &csv::StringRecord,
    row: &csv::StringRecord,
    kind: Kind,
) -> Result<InventoryMessage, String> {
    let mut fields = serde_json::Map::new();
    for (name, value) in header.iter().zip(row.iter()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let json = if NUMBERS.contains(&name) {
            serde_json::Value::from(
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{name}: not a whole number"))?,
            )
        } else if BOOLEANS.contains(&name) {
            serde_json::Value::from(matches!(value, "true" | "1" | "si" | "sì"))
        } else {
            serde_json::Value::from(value)
        };
        fields.insert(name.to_owned(), json);
    }
    let version = fields.remove("version").ok_or("version: missing")?;
    let message = match kind {
        Kind::Mailboxes => {
            let account = fields.remove("account").ok_or("account: missing")?;
            serde_json::json!({ "schema": 1, "type": "mailbox.upserted", "version": version, "account": account, "mailbox": fields })
        }
        Kind::Domains => {
            let account = fields.remove("account").ok_or("account: missing")?;
            serde_json::json!({ "schema": 1, "type": "domain.upserted", "version": version, "account": account, "domain": fields })
        }
        Kind::Accounts => {
            if let Some(id) = fields.remove("account") {
                fields.insert("id".into(), id);
            }
            serde_json::json!({ "schema": 1, "type": "account.upserted", "version": version, "account": fields })
        }
        Kind::All => return Err("a CSV file holds one kind: name it with --kind".into()),
    };
    InventoryMessage::parse(&message.to_string()).map_err(|e| e.to_string())
}

/// `n` mailboxes of 100 accounts as JSON lines on stdout (the benchmark's input).
pub fn generate_mailboxes(n: u64) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    for i in 0..n {
        let line = serde_json::json!({
            "schema": 1, "type": "mailbox.upserted", "version": 1, "account": format!("bench-{}", i % 100),
            "mailbox": {
                "address": format!("casella{i}@bench-pec.it"), "holder_id": (1_000 + i % 50_000).to_string(),
                "status": "Attivo", "kind": "Standard", "inbox_gb": 1, "end_of_service": "2027-06-30",
                "requested_on": "2020-06-30", "renewal": "A Scadenza", "duration": "1 Anno"
            }
        });
        writeln!(out, "{line}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_row_is_the_message_its_columns_name() {
        let header = csv::StringRecord::from(vec![
            "account",
            "version",
            "address",
            "holder_id",
            "status",
            "kind",
            "inbox_gb",
            "end_of_service",
            "requested_on",
            "renewal",
            "duration",
            "cliente_finale",
        ]);
        let row = csv::StringRecord::from(vec![
            "demo",
            "7",
            "Teste1234@pec.it",
            "534905",
            "Attivo",
            "Standard",
            "1",
            "2027-06-30",
            "2011-06-30",
            "A Scadenza",
            "1 Anno",
            "true",
        ]);
        let m = from_csv(&header, &row, Kind::Mailboxes).unwrap();
        assert_eq!(m.version, 7);
        let Change::MailboxUpserted { mailbox, .. } = m.change else {
            panic!()
        };
        assert!(mailbox.cliente_finale);
        let mut bad = row.clone();
        bad = csv::StringRecord::from(
            bad.iter()
                .enumerate()
                .map(|(i, v)| if i == 6 { "uno" } else { v })
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            from_csv(&header, &bad, Kind::Mailboxes).unwrap_err(),
            "inbox_gb: not a whole number"
        );
        assert!(from_json(r#"{"schema":1,"type":"domain.removed","version":1,"account":"demo","name":"x-pec.it"}"#, Kind::Mailboxes)
            .unwrap_err()
            .contains("not a message of this import"));
    }
}
