//! Requests, their code challenges and their outbox, over the same backend.

use crate::backend::{Condition, Item, Write};
use crate::keys::*;
use crate::table::{TableStore, decode, encode};
use async_trait::async_trait;
use titolare_domain::otp::{Challenge, Channel, Party};
use titolare_domain::outbox::OutboxMessage;
use titolare_domain::ports::*;
use titolare_domain::transfer::{Transfer, TransferId};

/// Items of a request vanish with it: their TTL is the request's deadline.
fn with_ttl(mut item: Item, transfer: &Transfer) -> Item {
    item.expires_at = Some(transfer.deadline.as_second());
    item
}

fn unchanged(transfer: &Versioned<Transfer>) -> Write {
    Write::Check {
        pk: transfer_pk(&transfer.value.id),
        sk: TRANSFER_SK.to_owned(),
        condition: Condition::Version(transfer.version),
    }
}

fn challenge_item(
    transfer: &Transfer,
    challenge: &Challenge,
    version: u64,
) -> Result<Item, StoreError> {
    let mut item = Item::new(
        transfer_pk(&transfer.id),
        challenge_sk(challenge.party, challenge.channel),
        "challenge",
        encode(challenge)?,
    );
    item.version = version;
    Ok(with_ttl(item, transfer))
}

fn expected(before: Option<u64>) -> Condition {
    before.map_or(Condition::Absent, Condition::Version)
}

#[async_trait]
impl TransferReader for TableStore {
    /// A request past its deadline still answers why it takes no more steps (410) until the
    /// store removes it, so it is read whatever its TTL says; `Transfer::accepts_steps`
    /// enforces the deadline to the second.
    async fn transfer(&self, id: &TransferId) -> Result<Option<Versioned<Transfer>>, StoreError> {
        match self
            .backend()
            .get(&transfer_pk(id), TRANSFER_SK, i64::MIN)
            .await
            .map_err(crate::table::store_error)?
        {
            Some(item) => Ok(Some(Versioned {
                value: decode(&item)?,
                version: item.version,
            })),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl ChallengeStore for TableStore {
    async fn challenge(
        &self,
        transfer: &TransferId,
        party: Party,
        channel: Channel,
    ) -> Result<Option<Versioned<Challenge>>, StoreError> {
        Ok(self
            .get_as(&transfer_pk(transfer), &challenge_sk(party, channel))
            .await?
            .map(|(value, version)| Versioned { value, version }))
    }

    async fn record_send(
        &self,
        transfer: &Versioned<Transfer>,
        before: Option<u64>,
        challenge: &Challenge,
        message: &OutboxMessage,
    ) -> Result<(), StoreError> {
        let t = &transfer.value;
        let version = before.map_or(1, |v| v + 1);
        let outbox = with_ttl(
            Item::new(
                transfer_pk(&t.id),
                outbox_sk(&message.id),
                OUTBOX_KIND,
                encode(message)?,
            ),
            t,
        );
        self.transact(&[
            unchanged(transfer),
            Write::put(challenge_item(t, challenge, version)?, expected(before)),
            Write::put(outbox, Condition::Absent),
        ])
        .await
    }

    async fn record_attempt(
        &self,
        transfer: &Versioned<Transfer>,
        before: u64,
        challenge: &Challenge,
    ) -> Result<(), StoreError> {
        let t = &transfer.value;
        self.transact(&[
            unchanged(transfer),
            Write::put(
                challenge_item(t, challenge, before + 1)?,
                Condition::Version(before),
            ),
        ])
        .await
    }
}

#[async_trait]
impl OutboxStore for TableStore {
    async fn outbox_message(
        &self,
        transfer: &TransferId,
        id: &str,
    ) -> Result<Option<Versioned<OutboxMessage>>, StoreError> {
        Ok(self
            .get_as(&transfer_pk(transfer), &outbox_sk(id))
            .await?
            .map(|(value, version)| Versioned { value, version }))
    }

    async fn outbox_messages(
        &self,
        transfer: &TransferId,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut messages: Vec<OutboxMessage> = self
            .query_all(&transfer_pk(transfer), OUTBOX_PREFIX)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        messages.sort_by_key(|m| m.created_at);
        Ok(messages)
    }

    async fn update_outbox(
        &self,
        before: u64,
        message: &OutboxMessage,
        challenge: Option<&Versioned<Challenge>>,
    ) -> Result<(), StoreError> {
        // Both items end with the request: the message knows when.
        let ttl = Some(message.expires_at.as_second());
        let mut item = Item::new(
            transfer_pk(&message.transfer),
            outbox_sk(&message.id),
            OUTBOX_KIND,
            encode(message)?,
        );
        (item.version, item.expires_at) = (before + 1, ttl);
        let mut writes = vec![Write::put(item, Condition::Version(before))];
        if let Some(c) = challenge {
            let mut item = Item::new(
                transfer_pk(&c.value.transfer),
                challenge_sk(c.value.party, c.value.channel),
                "challenge",
                encode(&c.value)?,
            );
            (item.version, item.expires_at) = (c.version + 1, ttl);
            writes.push(Write::put(item, Condition::Version(c.version)));
        }
        self.transact(&writes).await
    }
}

pub(crate) fn transfer_item(transfer: &Transfer) -> Result<Item, StoreError> {
    Ok(with_ttl(
        Item::new(
            transfer_pk(&transfer.id),
            TRANSFER_SK,
            "transfer",
            encode(transfer)?,
        ),
        transfer,
    ))
}

fn reset_pk(token: &titolare_domain::transfer::PasswordResetToken) -> String {
    format!("RESET#{}", token.grant_id)
}

#[async_trait]
impl PasswordResetGrants for TableStore {
    async fn grant_reset(
        &self,
        account: &titolare_domain::AccountId,
        token: &titolare_domain::transfer::PasswordResetToken,
    ) -> Result<(), StoreError> {
        let data = serde_json::json!({ "account": account, "mailbox": token.mailbox, "issued_at": token.issued_at });
        let mut item = Item::new(reset_pk(token), "RESET", "password_reset", data);
        item.expires_at = Some(
            (token.issued_at + titolare_domain::transfer::PasswordResetToken::VALIDITY).as_second(),
        );
        self.transact(&[Write::put(item, Condition::Absent)]).await
    }

    async fn use_reset(
        &self,
        token: &titolare_domain::transfer::PasswordResetToken,
    ) -> Result<(), StoreError> {
        self.transact(&[Write::Delete {
            pk: reset_pk(token),
            sk: "RESET".into(),
            condition: Condition::Present,
        }])
        .await
    }
}
