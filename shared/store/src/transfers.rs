//! Transfers, their locks, index by deadline, code challenges and outbox, over the same
//! backend. A step of a transfer is one [`TransferCommit`]: one all-or-nothing transaction.

use crate::backend::Query;
use crate::backend::{Condition, Item, Write};
use crate::keys::*;
use crate::table::{TableStore, decode, encode, store_error};
use async_trait::async_trait;
use jiff::Timestamp;
use titolare_domain::otp::{Challenge, Channel, Party};
use titolare_domain::outbox::{DeliveryStatus, OutboxMessage};
use titolare_domain::ports::*;
use titolare_domain::records::{AccountId, Mailbox};
use titolare_domain::search::{Page, PageRequest};
use titolare_domain::transfer::{ItemKind, ItemRef, Transfer, TransferId, TransferStatus};

/// Items of a transfer vanish with it: their TTL is the transfer's deadline.
fn with_ttl(mut item: Item, transfer: &Transfer) -> Item {
    item.expires_at = Some(transfer.deadline.as_second());
    item
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
    /// A transfer past its deadline still answers why it takes no more steps (410) until the
    /// store removes it, so it is read whatever its TTL says; `Transfer::accepts_steps`
    /// enforces the deadline to the second.
    async fn transfer(&self, id: &TransferId) -> Result<Option<Versioned<Transfer>>, StoreError> {
        match self
            .backend()
            .get(&transfer_pk(id), TRANSFER_SK, i64::MIN)
            .await
            .map_err(crate::table::store_error)?
        {
            // Read whatever its TTL says (the expirer must see running transfers past their
            // deadline), but an ended request past its retention is gone for everyone.
            Some(item) => {
                let value: Transfer = decode(&item)?;
                Ok(
                    (!value.retention_passed(self.clock_now())).then_some(Versioned {
                        value,
                        version: item.version,
                    }),
                )
            }
            None => Ok(None),
        }
    }

    async fn transfers_by_id(&self, ids: &[TransferId]) -> Result<Vec<Transfer>, StoreError> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (transfer_pk(id), TRANSFER_SK.to_owned()))
            .collect();
        let items = self
            .backend()
            .get_many(&keys, i64::MIN)
            .await
            .map_err(crate::table::store_error)?;
        let mut found: Vec<Transfer> = items
            .iter()
            .map(decode::<Transfer>)
            .collect::<Result<_, _>>()?;
        let now = self.clock_now();
        found.retain(|t| !t.retention_passed(now));
        found.sort_by_key(|t| ids.iter().position(|id| *id == t.id));
        Ok(found)
    }

    async fn transfers(
        &self,
        account: &AccountId,
        statuses: &[TransferStatus],
        page: &PageRequest,
    ) -> Result<Page<TransferSummary>, StoreError> {
        let statuses = statuses.to_vec();
        self.list(
            transfers_pk(account),
            "",
            page,
            false,
            move |t: &TransferSummary| statuses.is_empty() || statuses.contains(&t.status),
        )
        .await
    }

    async fn support_lookup(&self, key: &str, limit: usize) -> Result<Vec<TransferId>, StoreError> {
        let query = Query {
            pk: support_pk(key),
            sk_prefix: String::new(),
            start_after: None,
            limit,
            forward: false,
        };
        let page = self
            .backend()
            .query(&query, self.clock_now().as_second())
            .await
            .map_err(store_error)?;
        page.items
            .iter()
            .map(|item| {
                #[derive(serde::Deserialize)]
                struct Lookup {
                    transfer: TransferId,
                }
                decode::<Lookup>(item).map(|l| l.transfer)
            })
            .collect()
    }

    async fn item_lock(&self, item: &ItemRef) -> Result<Option<ItemLock>, StoreError> {
        Ok(self
            .get_as(&lock_pk(item), LOCK_SK)
            .await?
            .map(|(lock, _)| lock))
    }

    async fn item_locks(&self, items: &[ItemRef]) -> Result<Vec<Option<ItemLock>>, StoreError> {
        let keys: Vec<(String, String)> = items
            .iter()
            .map(|i| (lock_pk(i), LOCK_SK.to_owned()))
            .collect();
        let found: std::collections::HashMap<String, Item> = self
            .backend()
            .get_many(&keys, self.now())
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|item| (item.pk.clone(), item))
            .collect();
        keys.iter()
            .map(|(pk, _)| found.get(pk).map(decode).transpose())
            .collect()
    }

    async fn items(
        &self,
        account: &AccountId,
        items: &[ItemRef],
    ) -> Result<Vec<Option<ItemState>>, StoreError> {
        let mut states = Vec::with_capacity(items.len());
        for item in items {
            let pk = account_pk(account);
            states.push(match item.kind {
                ItemKind::Mailbox => self
                    .get_as(&pk, &mailbox_sk(&item.id))
                    .await?
                    .map(|(value, version)| ItemState::Mailbox(Versioned { value, version })),
                ItemKind::Domain => self
                    .get_as(&pk, &domain_sk(&item.id))
                    .await?
                    .map(|(value, version)| ItemState::Domain(Versioned { value, version })),
            });
        }
        Ok(states)
    }

    async fn overdue(
        &self,
        now: Timestamp,
        after: Option<&Due>,
        limit: usize,
    ) -> Result<Vec<Due>, StoreError> {
        let query = Query {
            pk: DUE_PK.into(),
            sk_prefix: String::new(),
            start_after: after.map(|d| due_sk(d.deadline, &d.transfer)),
            limit,
            forward: true,
        };
        let page = self
            .backend()
            .query(&query, now.as_second())
            .await
            .map_err(crate::table::store_error)?;
        let mut due = Vec::new();
        for item in page.items {
            let Some((deadline, id)) = item.sk.split_once('#') else {
                continue;
            };
            let Some(deadline) = deadline
                .parse::<i64>()
                .ok()
                .and_then(|d| Timestamp::from_second(d).ok())
            else {
                continue;
            };
            if deadline > now {
                break;
            }
            if let Ok(transfer) = TransferId::parse(id) {
                due.push(Due { transfer, deadline });
            }
        }
        Ok(due)
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

    async fn send_log(
        &self,
        key: &titolare_domain::quota::QuotaKey,
    ) -> Result<Option<Versioned<titolare_domain::quota::SendLog>>, StoreError> {
        Ok(self
            .get_as(&quota_pk(key), QUOTA_SK)
            .await?
            .map(|(value, version)| Versioned { value, version }))
    }
}

/// A lock's version is the number of the transfer that holds it, so only that transfer
/// can refresh or free it.
pub(crate) fn owner(id: &TransferId) -> u64 {
    id.as_str().parse().unwrap_or(0)
}

pub(crate) fn lock_item(
    item: &ItemRef,
    lock: &ItemLock,
    owner: u64,
    until: Timestamp,
) -> Result<Item, StoreError> {
    let mut it = Item::new(lock_pk(item), LOCK_SK, "lock", encode(lock)?);
    (it.version, it.expires_at) = (owner, Some(until.as_second()));
    Ok(it)
}

/// Index entries outlive the deadline by this much, so an expirer that was down still
/// finds what it missed; the TTL backstop covers longer outages.
const DUE_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_hours(30 * 24);

impl TableStore {
    fn commit_writes(&self, c: &TransferCommit<'_>) -> Result<Vec<Write>, StoreError> {
        let after = c.after;
        let ttl = after.ttl();
        let mut writes = Vec::new();
        let (condition, version) = match c.condition {
            TransferCondition::New | TransferCondition::Removed => (Condition::Absent, 1),
            TransferCondition::Unchanged(v) => (Condition::Version(v), v + 1),
            TransferCondition::UnchangedPastDeadline(v) => (Condition::StoredVersion(v), v + 1),
        };
        let mut item = transfer_item(after)?;
        item.version = version;
        writes.push(Write::put(item, condition));
        if let Some(line) = &c.list_line {
            let mut summary = Item::new(
                transfers_pk(&after.account),
                transfer_list_sk(&after.id),
                "transfer_summary",
                encode(line)?,
            );
            summary.expires_at = Some(ttl.as_second());
            writes.push(Write::put(summary, Condition::Always));
        }
        // A lock's version names the transfer that holds it: only that one moves or frees it.
        let id = owner(&after.id);
        for lock in &c.locks {
            writes.push(match lock {
                LockWrite::Put {
                    item,
                    lock,
                    until,
                    fresh,
                } => {
                    let condition = if *fresh {
                        Condition::Absent
                    } else {
                        Condition::Version(id)
                    };
                    Write::put(lock_item(item, lock, id, *until)?, condition)
                }
                LockWrite::Free { item } => Write::Delete {
                    pk: lock_pk(item),
                    sk: LOCK_SK.into(),
                    condition: Condition::Version(id),
                },
            });
        }
        for due in &c.due {
            writes.push(match *due {
                DueWrite::Drop(d) => Write::Delete {
                    pk: DUE_PK.into(),
                    sk: due_sk(d, &after.id),
                    condition: Condition::Always,
                },
                DueWrite::Put(d) => {
                    let mut due = Item::new(
                        DUE_PK,
                        due_sk(d, &after.id),
                        "due",
                        serde_json::json!({ "transfer": after.id }),
                    );
                    due.expires_at = Some((d + DUE_GRACE).as_second());
                    Write::put(due, Condition::Always)
                }
            });
        }
        if let Some(status) = c.outcome {
            let mut outcome = Item::new(
                transfer_pk(&after.id),
                OUTCOME_SK,
                "outcome",
                serde_json::json!({ "status": status }),
            );
            outcome.expires_at = Some(ttl.as_second());
            writes.push(Write::put(outcome, Condition::Absent));
        }
        if let Some((before, challenge)) = c.challenge {
            let mut item = challenge_item(after, challenge, before.map_or(1, |v| v + 1))?;
            item.expires_at = Some(ttl.as_second());
            writes.push(Write::put(item, expected(before)));
        }
        for quota in &c.quotas {
            let mut item = Item::new(quota_pk(&quota.key), QUOTA_SK, "quota", encode(&quota.log)?);
            item.version = quota.before.map_or(1, |v| v + 1);
            item.expires_at = Some(quota.forget_at.as_second());
            writes.push(Write::put(item, expected(quota.before)));
        }
        for message in &c.messages {
            writes.extend(new_message_writes(message)?);
        }
        for (account, operation) in &c.operations {
            writes.push(crate::table::operation_write(account, operation)?);
        }
        // New profiles only (created with a transfer, or a first copy into the account a
        // request hands over to): an existing one is never overwritten.
        for (account, holder) in &c.holders {
            writes.extend(TableStore::holder_writes(
                account,
                holder,
                1,
                Condition::Absent,
            )?);
        }
        for w in &c.items {
            writes.extend(item_writes(&after.account, w)?);
        }
        if let Some(update) = &c.mailbox {
            let mut item = Item::new(
                account_pk(&update.account),
                mailbox_sk(update.after.address.as_str()),
                "mailbox",
                encode(&update.after)?,
            );
            item.version = update.before + 1;
            writes.push(Write::put(item, Condition::Version(update.before)));
        }
        for key in &c.lookups {
            let mut item = Item::new(
                support_pk(key),
                support_sk(&after.id),
                SUPPORT_KIND,
                serde_json::json!({ "transfer": after.id }),
            );
            item.expires_at = Some(ttl.as_second());
            writes.push(Write::put(item, Condition::Always));
        }
        if let Some((before, message)) = &c.reported {
            writes.extend(outbox_writes(*before, message)?);
        }
        if let Some((scope, response)) = &c.idempotent {
            writes.push(crate::table::idempotency_write(scope, response)?);
        }
        Ok(writes)
    }
}

/// A completion's item write: in place, or moved to the account management goes to.
/// A new outbox message and its entry in the unsent index.
fn new_message_writes(message: &OutboxMessage) -> Result<[Write; 2], StoreError> {
    let mut item = Item::new(
        transfer_pk(&message.transfer),
        outbox_sk(&message.id),
        OUTBOX_KIND,
        encode(message)?,
    );
    item.expires_at = Some(message.expires_at.as_second());
    Ok([Write::put(item, Condition::Absent), unsent_write(message)?])
}

fn item_writes(from: &AccountId, w: &ItemWrite) -> Result<Vec<Write>, StoreError> {
    let (sk, version) = match &w.before {
        ItemState::Mailbox(m) => (mailbox_sk(m.value.address.as_str()), m.version),
        ItemState::Domain(d) => (domain_sk(&d.value.name), d.version),
    };
    let (kind, data) = match &w.after {
        ItemState::Mailbox(m) => ("mailbox", encode(&m.value)?),
        ItemState::Domain(d) => ("domain", encode(&d.value)?),
    };
    if w.to == *from {
        let mut item = Item::new(account_pk(from), sk, kind, data);
        item.version = version + 1;
        return Ok(vec![Write::put(item, Condition::Version(version))]);
    }
    let mut item = Item::new(account_pk(&w.to), sk.clone(), kind, data);
    item.version = 1;
    Ok(vec![
        Write::Delete {
            pk: account_pk(from),
            sk,
            condition: Condition::Version(version),
        },
        Write::put(item, Condition::Absent),
    ])
}

#[async_trait]
impl TransferWriter for TableStore {
    async fn next_transfer_id(&self) -> Result<TransferId, StoreError> {
        let n = self
            .backend()
            .next_sequence("transfer")
            .await
            .map_err(crate::table::store_error)?;
        Ok(TransferId::from_number(n))
    }

    async fn commit(&self, commit: &TransferCommit<'_>) -> Result<(), StoreError> {
        let writes = self.commit_writes(commit)?;
        self.transact(&writes).await
    }

    async fn drop_due(&self, due: &Due) -> Result<(), StoreError> {
        self.transact(&[Write::Delete {
            pk: DUE_PK.into(),
            sk: due_sk(due.deadline, &due.transfer),
            condition: Condition::Always,
        }])
        .await
    }

    async fn update_mailbox(
        &self,
        account: &AccountId,
        before: u64,
        after: &Mailbox,
        message: Option<&OutboxMessage>,
        idempotent: Option<(IdempotencyScope, IdempotentResponse)>,
    ) -> Result<(), StoreError> {
        let mut item = Item::new(
            account_pk(account),
            mailbox_sk(after.address.as_str()),
            "mailbox",
            encode(after)?,
        );
        item.version = before + 1;
        let mut writes = vec![Write::put(item, Condition::Version(before))];
        if let Some(message) = message {
            writes.extend(new_message_writes(message)?);
        }
        if let Some((scope, response)) = &idempotent {
            writes.push(crate::table::idempotency_write(scope, response)?);
        }
        self.transact(&writes).await
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

    async fn unsent(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(TransferId, String)>, StoreError> {
        // Page by page, stopping once `limit` are found: a backlog is not read whole.
        let mut due = Vec::new();
        let mut start_after = None;
        loop {
            let query = Query {
                pk: UNSENT_PK.into(),
                sk_prefix: String::new(),
                start_after: start_after.take(),
                limit: 100,
                forward: true,
            };
            let page = self
                .backend()
                .query(&query, now.as_second())
                .await
                .map_err(crate::table::store_error)?;
            for item in &page.items {
                let entry: Unsent = decode(item)?;
                if entry.retry_at <= now.as_second() {
                    due.push((entry.transfer, entry.message));
                    if due.len() == limit {
                        return Ok(due);
                    }
                }
            }
            match page.items.last() {
                Some(last) if page.items.len() == query.limit => {
                    start_after = Some(last.sk.clone())
                }
                _ => return Ok(due),
            }
        }
    }

    async fn settle_outbox(&self, transfer: &TransferId, id: &str) -> Result<(), StoreError> {
        self.transact(&[Write::Delete {
            pk: UNSENT_PK.into(),
            sk: unsent_sk(transfer, id),
            condition: Condition::Always,
        }])
        .await
    }

    async fn sent_message(
        &self,
        provider_id: &str,
    ) -> Result<Option<(TransferId, String)>, StoreError> {
        Ok(self
            .get_as::<Sent>(&sent_pk(provider_id), SENT_SK)
            .await?
            .map(|(sent, _)| (sent.transfer, sent.message)))
    }

    async fn update_outbox(
        &self,
        before: u64,
        message: &OutboxMessage,
        challenge: Option<&Versioned<Challenge>>,
    ) -> Result<(), StoreError> {
        // Both items end with the transfer: the message knows when.
        let ttl = Some(message.expires_at.as_second());
        let mut writes = outbox_writes(before, message)?;
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

/// A message written in place over version `before`, with what follows its status: its
/// unsent index entry, and when a provider takes it (sent, nothing reported yet) the pointer
/// from the provider's id; a report's write leaves the pointer as it is.
fn outbox_writes(before: u64, message: &OutboxMessage) -> Result<Vec<Write>, StoreError> {
    let ttl = Some(message.expires_at.as_second());
    let mut item = Item::new(
        transfer_pk(&message.transfer),
        outbox_sk(&message.id),
        OUTBOX_KIND,
        encode(message)?,
    );
    (item.version, item.expires_at) = (before + 1, ttl);
    let mut writes = vec![Write::put(item, Condition::Version(before))];
    writes.push(unsent_write(message)?);
    if let (DeliveryStatus::Sent, Some(provider_id), None) =
        (message.status, &message.provider_id, &message.report)
        && !provider_id.is_empty()
    {
        let mut sent = Item::new(
            sent_pk(provider_id),
            SENT_SK,
            SENT_KIND,
            encode(&Sent {
                transfer: message.transfer.clone(),
                message: message.id.clone(),
            })?,
        );
        sent.expires_at = ttl;
        writes.push(Write::put(sent, Condition::Always));
    }
    Ok(writes)
}

/// Where a provider's id points: the message it took.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sent {
    transfer: TransferId,
    message: String,
}

/// An entry of the unsent index.
#[derive(serde::Serialize, serde::Deserialize)]
struct Unsent {
    transfer: TransferId,
    message: String,
    retry_at: i64,
}

/// What the unsent index holds of a message: its entry while it is not settled (going
/// with the message's TTL), none once it is sent or failed.
fn unsent_write(message: &OutboxMessage) -> Result<Write, StoreError> {
    let (pk, sk) = (
        UNSENT_PK.to_owned(),
        unsent_sk(&message.transfer, &message.id),
    );
    let Some(retry_at) = message.retry_at() else {
        return Ok(Write::Delete {
            pk,
            sk,
            condition: Condition::Always,
        });
    };
    let entry = Unsent {
        transfer: message.transfer.clone(),
        message: message.id.clone(),
        retry_at: retry_at.as_second(),
    };
    let mut item = Item::new(pk, sk, UNSENT_KIND, encode(&entry)?);
    item.expires_at = Some(message.expires_at.as_second());
    Ok(Write::put(item, Condition::Always))
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
