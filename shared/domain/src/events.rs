//! Domain events for other consumers of the provider: a change of holder ended — completed,
//! rejected, expired or cancelled. Each is published once per request from its outcome
//! marker, which the ending writes in its own transaction (the outbox pattern), on the
//! EventBridge bus (docs/platform.md, "Domain events"). Schema:
//! `infra/events/transfer-ended-v1.schema.json`.

use crate::holder::HolderId;
use crate::ids::{ItemKind, TransferId};
use crate::records::AccountId;
use crate::transfer::{ItemOutcome, Transfer, TransferStatus};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The events' `source` on the bus.
pub const SOURCE: &str = "titolare";

/// A change of holder that ended, as the bus carries it (the event's `detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferEnded {
    pub schema: u32,
    /// `<request>.<status>`: the same event delivered twice has the same id.
    pub id: String,
    pub transfer: TransferId,
    /// The account that asked for the change.
    pub account: AccountId,
    pub status: TransferStatus,
    pub ended_at: Timestamp,
    pub current_holder: HolderId,
    pub new_holder: HolderId,
    /// The account that manages the moved items from now on.
    pub managed_by: AccountId,
    pub items: Vec<EndedItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndedItem {
    pub kind: ItemKind,
    pub id: String,
    pub outcome: ItemOutcome,
}

impl TransferEnded {
    /// The event of an ended transfer (`None` while it runs).
    pub fn of(t: &Transfer) -> Option<Self> {
        if !t.status.is_ended() {
            return None;
        }
        Some(Self {
            schema: 1,
            id: format!("{}.{}", t.id.as_str(), t.status.as_str()),
            transfer: t.id.clone(),
            account: t.account.clone(),
            status: t.status,
            ended_at: t.ended_at?,
            current_holder: t.current_holder_card.id.clone(),
            new_holder: t.new_holder_card.id.clone(),
            managed_by: t.target_account().clone(),
            items: t
                .items
                .iter()
                .map(|i| EndedItem {
                    kind: i.item.kind,
                    id: i.item.id.clone(),
                    outcome: i.outcome.unwrap_or(ItemOutcome::Kept),
                })
                .collect(),
        })
    }

    /// The event's `detail-type` on the bus.
    pub fn detail_type(&self) -> &'static str {
        match self.status {
            TransferStatus::Completed => "Transfer Completed",
            TransferStatus::Rejected => "Transfer Rejected",
            TransferStatus::Expired => "Transfer Expired",
            _ => "Transfer Cancelled",
        }
    }
}
