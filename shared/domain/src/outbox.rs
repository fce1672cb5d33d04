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
    /// "Gestisci richiesta": the dispatcher derives the party's link token.
    Invitation {
        party: Party,
        items: Vec<String>,
        deadline: Timestamp,
        /// Who started the transfer (the initiator's profile name), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The other holder's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other: Option<String>,
        /// The party's steps, in order.
        #[serde(default)]
        steps: Vec<crate::transfer::Step>,
        /// With `hand_over`, to the new holder: the username to log in with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// The generation of the link to give (see `LinkToken`).
        #[serde(default)]
        link: u32,
        /// Sent by itself before the deadline (docs/rules.md, "Reminders").
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reminder: bool,
    },
    Confirmation {
        party: Party,
        moved: Vec<String>,
        kept: Vec<String>,
        /// With `hand_over`: the username of the account that manages the moved items now
        /// (told to the initiator, whose account they left).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handed_over_to: Option<String>,
    },
    Rejection {
        items: Vec<String>,
        /// The holder who rejected every item.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Party>,
    },
    Cancellation {
        items: Vec<String>,
        /// Cancelled by the provider's support, not by the requester.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_support: bool,
    },
    Expiry {
        items: Vec<String>,
        deadline: Timestamp,
        /// A draft whose initiator never verified the mobile within 24 hours (not a
        /// request left unfinished by its holders).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        draft: bool,
    },
    /// A holder's SMS step was verified at another number than the one on file: to that
    /// number and the email on file, with the link that stops the transfer (the dispatcher
    /// derives its token).
    NumberChanged {
        party: Party,
        /// The number that was verified, masked.
        number: String,
        /// The transfer completes no earlier than this.
        until: Timestamp,
    },
    /// One link per moved mailbox; the dispatcher derives each token.
    PasswordReset {
        account: AccountId,
        mailboxes: Vec<String>,
        issued_at: Timestamp,
        /// A new link asked for later: the email says it replaces the earlier one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reissued: bool,
    },
    /// Items the provider's inventory took out of the transfer (removed, no longer active,
    /// given another holder); `ended`: none is left, so the transfer is over.
    Withdrawn {
        items: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ended: bool,
    },
    /// To the initiator: the email provider said `party`'s invitation can never reach the
    /// address on file; correcting the contact sends a new one.
    Undelivered {
        party: Party,
        failure: crate::delivery::Failure,
    },
}

impl Message {
    /// What kind of message it is, in one word (ids, metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Code { .. } => "code",
            Self::Invitation { .. } => "invitation",
            Self::Confirmation { .. } => "confirmation",
            Self::Rejection { .. } => "rejection",
            Self::Cancellation { .. } => "cancellation",
            Self::Expiry { .. } => "expiry",
            Self::NumberChanged { .. } => "number-changed",
            Self::PasswordReset { .. } => "password-reset",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Undelivered { .. } => "undelivered",
        }
    }
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
    /// Who it goes to, for the greeting and for what the text says they can do next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    pub message: Message,
    pub status: DeliveryStatus,
    pub claimed_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    /// What the provider said after taking it: delivered, delayed, lost (docs/rules.md,
    /// "Delivery").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::delivery::Report>,
    /// The record goes with its transfer: the store's TTL, kept through every update.
    pub expires_at: Timestamp,
}

/// The person a message goes to: their part in the transfer and the name the greeting
/// gives them (the profile's display name), when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub party: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Recipient {
    pub fn of(transfer: &Transfer, party: Party) -> Self {
        Self {
            party,
            name: transfer.contact(party).name.clone(),
        }
    }
}

/// How long a message may stay pending before the sweep sends it (the stream normally
/// does within seconds), and how long a dispatcher's claim holds.
pub const DISPATCH_LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

impl OutboxMessage {
    /// The message with the provider's `report`, or `None` when the report changes nothing:
    /// the message was not sent (or by another id), the report repeats, or a final word came
    /// first. Delivered and failed are final, except that a complaint after the delivery
    /// still counts (the person received it and marked it unwanted).
    pub fn reported(&self, report: &crate::delivery::Report) -> Option<Self> {
        use crate::delivery::{Failure, Outcome};
        if self.status != DeliveryStatus::Sent
            || self.provider_id.as_deref() != Some(report.provider_id.as_str())
        {
            return None;
        }
        let takes = match (self.report.as_ref().map(|r| &r.outcome), &report.outcome) {
            (None, _) => true,
            (Some(Outcome::Delayed), Outcome::Delayed) => false,
            (Some(Outcome::Delayed), _) => true,
            (
                Some(Outcome::Delivered),
                Outcome::Failed {
                    failure: Failure::Complaint,
                },
            ) => true,
            (Some(_), _) => false,
        };
        takes.then(|| Self {
            report: Some(report.clone()),
            ..self.clone()
        })
    }
}

impl OutboxMessage {
    /// When the sweep takes this message if it is still not sent: a pending one a lease
    /// after it was queued, a claimed one when its claim lapses; `None` once settled
    /// (sent, or failed and told to its reader).
    pub fn retry_at(&self) -> Option<Timestamp> {
        match self.status {
            DeliveryStatus::Pending => Some(self.created_at + DISPATCH_LEASE),
            DeliveryStatus::Sending => Some(self.claimed_until.unwrap_or(self.created_at)),
            DeliveryStatus::Sent | DeliveryStatus::Failed => None,
        }
    }
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
            recipient: Some(Recipient::of(transfer, party)),
            expires_at: transfer.ttl(),
            message: Message::Code { party, send_no },
            status: DeliveryStatus::Pending,
            claimed_until: None,
            created_at: now,
            attempts: 0,
            provider_id: None,
            report: None,
            error: None,
        }
    }
}

impl OutboxMessage {
    /// An email to a party about the transfer. Its id names request, kind and party, so
    /// the same notice can never be queued twice.
    pub fn notice(transfer: &Transfer, party: Party, message: Message, now: Timestamp) -> Self {
        let contact = transfer.contact(party);
        Self {
            id: format!(
                "{}-{}-{}",
                transfer.id.as_str(),
                message.kind(),
                party.as_str()
            ),
            transfer: transfer.id.clone(),
            account: transfer.account.clone(),
            channel: Channel::Email,
            to: Some(contact.email.as_str().to_owned()),
            lingua: contact.lingua,
            recipient: Some(Recipient::of(transfer, party)),
            message,
            status: DeliveryStatus::Pending,
            claimed_until: None,
            created_at: now,
            attempts: 0,
            provider_id: None,
            report: None,
            error: None,
            expires_at: transfer.ttl(),
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
