//! The replica of the provider's inventory: each message read, decided by the domain's
//! version rule, and written conditionally on what was read (docs/rules.md, "The
//! inventory"). It writes only inventory items: accounts, their usernames, mailboxes,
//! domains and the tombstones of removals.

use crate::backend::{Condition, Item, Write};
use crate::keys::*;
use crate::table::{TableStore, decode, encode, store_error};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use titolare_domain::inventory::{Change, InventoryMessage, Sourced, Verdict, apply};
use titolare_domain::ports::{InventoryWriter, StoreError};

/// The tombstone's data.
#[derive(serde::Serialize, serde::Deserialize)]
struct Removed {
    version: u64,
}

/// What the table holds at an entity's key and at its tombstone's, with the item versions
/// the writes are conditional on. Both are read and both are conditions of every write, so
/// two messages of one entity never both apply over the same state; and item versions go on
/// from the highest of the two (a mailbox removed and brought back never reuses a version a
/// slower writer may hold: no ABA).
struct Read<T> {
    live: Option<(T, u64)>,
    /// The removal's source version and the tombstone's item version.
    tombstone: Option<(u64, u64)>,
}

impl<T: Sourced> Read<T> {
    /// The source version the replica stands at.
    fn source_version(&self) -> Option<u64> {
        let live = self.live.as_ref().map(|(t, _)| t.source_version());
        let removed = self.tombstone.map(|(v, _)| v);
        live.max(removed)
    }

    /// The next item version of either key.
    fn next_version(&self) -> u64 {
        let live = self.live.as_ref().map_or(0, |(_, v)| *v);
        let removed = self.tombstone.map_or(0, |(_, v)| v);
        live.max(removed) + 1
    }
}

/// The keys of a mailbox's or domain's record (accounts are never removed: no tombstone).
fn entity_key(change: &Change) -> Option<(String, String)> {
    match change {
        Change::AccountUpserted { .. } => None,
        Change::MailboxUpserted { account, mailbox } => {
            Some((account_pk(account), mailbox_sk(mailbox.address.as_str())))
        }
        Change::MailboxRemoved { account, address } => {
            Some((account_pk(account), mailbox_sk(address.as_str())))
        }
        Change::DomainUpserted { account, domain } => {
            Some((account_pk(account), domain_sk(&domain.name)))
        }
        Change::DomainRemoved { account, name } => Some((account_pk(account), domain_sk(name))),
    }
}

/// What the table holds, from the items at the record's key and the tombstone's.
fn read_of<T: DeserializeOwned>(
    live: Option<&Item>,
    tombstone: Option<&Item>,
) -> Result<Read<T>, StoreError> {
    Ok(Read {
        live: live
            .map(|i| Ok::<_, StoreError>((decode(i)?, i.version)))
            .transpose()?,
        tombstone: tombstone
            .map(|i| Ok::<_, StoreError>((decode::<Removed>(i)?.version, i.version)))
            .transpose()?,
    })
}

/// The writes of a mailbox or domain message over the items read (`None`: it is stale).
fn entity_writes(
    message: &InventoryMessage,
    pk: &str,
    sk: &str,
    live: Option<&Item>,
    tombstone: Option<&Item>,
) -> Result<Option<Vec<Write>>, StoreError> {
    fn newer<T: Sourced>(read: Read<T>, version: u64) -> Option<Read<T>> {
        (apply(read.source_version(), version) == Verdict::Apply).then_some(read)
    }
    let version = message.version;
    Ok(match &message.change {
        Change::AccountUpserted { .. } => None,
        Change::MailboxUpserted { mailbox, .. } => {
            match newer(
                read_of::<titolare_domain::Mailbox>(live, tombstone)?,
                version,
            ) {
                None => None,
                Some(read) => {
                    let after = mailbox
                        .clone()
                        .into_mailbox(version, read.live.as_ref().map(|(m, _)| m));
                    Some(TableStore::upsert(pk, sk, "mailbox", &read, &after)?)
                }
            }
        }
        Change::DomainUpserted { domain, .. } => {
            match newer(
                read_of::<titolare_domain::CertifiedDomain>(live, tombstone)?,
                version,
            ) {
                None => None,
                Some(read) => {
                    let after = domain.clone().into_domain(version);
                    Some(TableStore::upsert(pk, sk, "domain", &read, &after)?)
                }
            }
        }
        Change::MailboxRemoved { .. } => newer(
            read_of::<titolare_domain::Mailbox>(live, tombstone)?,
            version,
        )
        .map(|read| TableStore::remove(pk, sk, &read, version))
        .transpose()?,
        Change::DomainRemoved { .. } => newer(
            read_of::<titolare_domain::CertifiedDomain>(live, tombstone)?,
            version,
        )
        .map(|read| TableStore::remove(pk, sk, &read, version))
        .transpose()?,
    })
}

impl TableStore {
    async fn read_replica<T: DeserializeOwned + Sourced>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Read<T>, StoreError> {
        let live = self.get_item(pk, sk).await?;
        let tombstone = self.get_item(pk, &removed_sk(sk)).await?;
        read_of(live.as_ref(), tombstone.as_ref())
    }

    /// The writes of an upsert over what was read: the record, and the tombstone cleared
    /// (or checked still absent).
    fn upsert<T: Sourced, V: Serialize>(
        pk: &str,
        sk: &str,
        kind: &str,
        read: &Read<T>,
        value: &V,
    ) -> Result<Vec<Write>, StoreError> {
        let mut item = Item::new(pk, sk, kind, encode(value)?);
        item.version = read.next_version();
        let live = read.live.as_ref().map(|(_, v)| *v);
        let mut writes = vec![Write::put(item, condition(live))];
        writes.push(match read.tombstone {
            Some((_, v)) => Write::Delete {
                pk: pk.to_owned(),
                sk: removed_sk(sk),
                condition: Condition::StoredVersion(v),
            },
            None => Write::Check {
                pk: pk.to_owned(),
                sk: removed_sk(sk),
                condition: Condition::Absent,
            },
        });
        Ok(writes)
    }

    /// The writes of a removal over what was read: the tombstone kept at the removal's
    /// version, the record deleted (or checked still absent).
    fn remove<T: Sourced>(
        pk: &str,
        sk: &str,
        read: &Read<T>,
        version: u64,
    ) -> Result<Vec<Write>, StoreError> {
        let mut tombstone = Item::new(
            pk,
            removed_sk(sk),
            REMOVED_KIND,
            encode(&Removed { version })?,
        );
        tombstone.version = read.next_version();
        let mut writes = vec![Write::put(
            tombstone,
            condition(read.tombstone.map(|(_, v)| v)),
        )];
        writes.push(match &read.live {
            Some((_, v)) => Write::Delete {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                condition: Condition::Version(*v),
            },
            None => Write::Check {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                condition: Condition::Absent,
            },
        });
        Ok(writes)
    }
}

/// A write conditional on the item version read (none read: still none).
fn condition(read: Option<u64>) -> Condition {
    read.map_or(Condition::Absent, Condition::Version)
}

impl TableStore {
    /// An account's message: the record and its username, conditionally on what was read.
    async fn account_writes(
        &self,
        account: &titolare_domain::inventory::AccountFacts,
        version: u64,
    ) -> Result<Option<Vec<Write>>, StoreError> {
        let pk = account_pk(&account.id);
        let read = self
            .read_replica::<titolare_domain::Account>(&pk, ACCOUNT_SK)
            .await?;
        if apply(read.source_version(), version) == Verdict::Stale {
            return Ok(None);
        }
        let after = account.clone().into_account(version);
        let mut writes = Self::upsert(&pk, ACCOUNT_SK, "account", &read, &after)?;
        let before = read.live.as_ref().map(|(a, _)| a.username.to_lowercase());
        if before.as_deref() != Some(&after.username.to_lowercase()) {
            if let Some(old) = before {
                writes.push(Write::Delete {
                    pk: username_pk(&old),
                    sk: USER_SK.into(),
                    condition: Condition::Always,
                });
            }
            // A username another account holds is refused, not taken over.
            let user = Item::new(
                username_pk(&after.username),
                USER_SK,
                "username",
                encode(&after.id)?,
            );
            writes.push(Write::put(user, Condition::Absent));
        }
        Ok(Some(writes))
    }
}

#[async_trait]
impl InventoryWriter for TableStore {
    async fn apply_inventory(&self, message: &InventoryMessage) -> Result<Verdict, StoreError> {
        let writes = match (&message.change, entity_key(&message.change)) {
            (Change::AccountUpserted { account }, _) => {
                self.account_writes(account, message.version).await?
            }
            (_, Some((pk, sk))) => {
                let live = self.get_item(&pk, &sk).await?;
                let tombstone = self.get_item(&pk, &removed_sk(&sk)).await?;
                entity_writes(message, &pk, &sk, live.as_ref(), tombstone.as_ref())?
            }
            (_, None) => None,
        };
        let Some(writes) = writes else {
            return Ok(Verdict::Stale);
        };
        self.transact(&writes).await?;
        Ok(Verdict::Apply)
    }

    async fn has_removals(&self, account: &titolare_domain::AccountId) -> Result<bool, StoreError> {
        let query = crate::backend::Query {
            pk: account_pk(account),
            sk_prefix: REMOVED_PREFIX.into(),
            start_after: None,
            limit: 1,
            forward: true,
        };
        let page = self
            .backend()
            .query(&query, self.now())
            .await
            .map_err(store_error)?;
        Ok(!page.items.is_empty())
    }

    async fn apply_inventory_batch(
        &self,
        messages: &[InventoryMessage],
        without_removals: &std::collections::HashSet<titolare_domain::AccountId>,
    ) -> Result<Vec<Verdict>, StoreError> {
        let clean: std::collections::HashSet<String> =
            without_removals.iter().map(account_pk).collect();
        let mut verdicts = vec![Verdict::Stale; messages.len()];
        // Within the batch only each entity's newest message can apply.
        let mut newest: HashMap<(String, String), usize> = HashMap::new();
        let mut one_by_one = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            match entity_key(&message.change) {
                Some(key) => {
                    let slot = newest.entry(key).or_insert(i);
                    if messages[*slot].version < message.version {
                        *slot = i;
                    }
                }
                None => one_by_one.push(i),
            }
        }
        let mut keys: Vec<(String, String)> = Vec::with_capacity(2 * newest.len());
        for (pk, sk) in newest.keys() {
            keys.push((pk.clone(), sk.clone()));
            if !clean.contains(pk) {
                keys.push((pk.clone(), removed_sk(sk)));
            }
        }
        let found: HashMap<(String, String), Item> = self
            .backend()
            .get_many(&keys, self.now())
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|item| ((item.pk.clone(), item.sk.clone()), item))
            .collect();
        // Entities the table has never held are written together, without conditions; the
        // others one conditional transaction each.
        let mut fresh = Vec::new();
        for ((pk, sk), i) in &newest {
            let live = found.get(&(pk.clone(), sk.clone()));
            let tombstone = found.get(&(pk.clone(), removed_sk(sk)));
            let Some(writes) = entity_writes(&messages[*i], pk, sk, live, tombstone)? else {
                continue;
            };
            verdicts[*i] = Verdict::Apply;
            if live.is_none() && tombstone.is_none() {
                if let Some(Write::Put { item, .. }) = writes.into_iter().next() {
                    fresh.push(item);
                }
                continue;
            }
            match self.transact(&writes).await {
                Ok(()) => {}
                // Written since the read: read and decide again.
                Err(StoreError::Conflict) => {
                    verdicts[*i] = self.apply_inventory(&messages[*i]).await?
                }
                Err(e) => return Err(e),
            }
        }
        self.backend()
            .put_many(&fresh, self.now())
            .await
            .map_err(store_error)?;
        for i in one_by_one {
            verdicts[i] = self.apply_inventory(&messages[i]).await?;
        }
        Ok(verdicts)
    }
}
