//! Messages waiting to be sent, written in the same transaction as the state change that
//! causes them. They hold what the dispatcher needs to render and derive them again, never
//! a code or a token in clear.

use crate::holder::Lingua;
use crate::otp::{Challenge, Channel, Party};
use crate::records::AccountId;
use crate::transfer::{Transfer, TransferId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a message says; the dispatcher renders it in the recipient's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// A one-time code; the dispatcher derives it from the challenge binding.
    Code { party: Party, send_no: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    /// Claimed by a dispatcher until the given time (a crash lets another retry after it).
    Sending,
    Sent,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Also the dedupe key: one send, one id.
    pub id: String,
    pub transfer: TransferId,
    pub account: AccountId,
    pub channel: Channel,
    /// The destination; removed once the message is sent.
    pub to: Option<String>,
    pub lingua: Lingua,
    pub message: Message,
    pub status: DeliveryStatus,
    pub claimed_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    /// The record goes with its request: the store's TTL, kept through every update.
    pub expires_at: Timestamp,
}

impl OutboxMessage {
    /// The message carrying the current code of a challenge of `transfer`, in the
    /// language of the party it goes to.
    pub fn code(challenge: &Challenge, transfer: &Transfer, now: Timestamp) -> Self {
        let (party, channel, send_no) = (challenge.party, challenge.channel, challenge.sends);
        Self {
            id: format!(
                "{}-{}-{}-{send_no}",
                transfer.id.as_str(),
                party.as_str(),
                channel.as_str()
            ),
            transfer: transfer.id.clone(),
            account: transfer.account.clone(),
            channel,
            to: Some(challenge.destination.clone()),
            lingua: transfer.contact(party).lingua,
            expires_at: transfer.deadline,
            message: Message::Code { party, send_no },
            status: DeliveryStatus::Pending,
            claimed_until: None,
            created_at: now,
            attempts: 0,
            provider_id: None,
            error: None,
        }
    }
}

/// A destination as it may be shown or logged: "+39 *** **** 567", "m***@example.it".
pub fn mask(destination: &str) -> String {
    match destination.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => {
            let visible: String = destination
                .chars()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let prefix: String = destination.chars().take(3).collect();
            format!("{prefix}*****{visible}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_hide_most_of_a_destination() {
        assert_eq!(mask("+393331234567"), "+39*****567");
        assert_eq!(mask("mario.rossi@example.it"), "m***@example.it");
    }
}
