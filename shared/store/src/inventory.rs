//! The replica of the provider's inventory: each message read, decided by the domain's
//! version rule, and written conditionally on what was read (docs/rules.md, "The
//! inventory"). It writes only inventory items: accounts, their usernames, mailboxes,
//! domains and the tombstones of removals.

use crate::backend::{Condition, Item, Write};
use crate::keys::*;
use crate::table::{TableStore, decode, encode};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
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

impl TableStore {
    async fn read_replica<T: DeserializeOwned + Sourced>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Read<T>, StoreError> {
        let live = match self.get_item(pk, sk).await? {
            Some(item) => Some((decode(&item)?, item.version)),
            None => None,
        };
        let tombstone = match self.get_item(pk, &removed_sk(sk)).await? {
            Some(item) => Some((decode::<Removed>(&item)?.version, item.version)),
            None => None,
        };
        Ok(Read { live, tombstone })
    }

    /// What the table holds for an entity, when a message at `version` applies over it
    /// (`None`: it is stale).
    async fn read_older<T: DeserializeOwned + Sourced>(
        &self,
        pk: &str,
        sk: &str,
        version: u64,
    ) -> Result<Option<Read<T>>, StoreError> {
        let read = self.read_replica(pk, sk).await?;
        Ok((apply(read.source_version(), version) == Verdict::Apply).then_some(read))
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

#[async_trait]
impl InventoryWriter for TableStore {
    async fn apply_inventory(&self, message: &InventoryMessage) -> Result<Verdict, StoreError> {
        let version = message.version;
        let writes = match &message.change {
            Change::AccountUpserted { account } => {
                let pk = account_pk(&account.id);
                let Some(read) = self
                    .read_older::<titolare_domain::Account>(&pk, ACCOUNT_SK, version)
                    .await?
                else {
                    return Ok(Verdict::Stale);
                };
                let after = account.clone().into_account(version);
                let mut writes = Self::upsert(&pk, ACCOUNT_SK, "account", &read, &after)?;
                let before = read
                    .live
                    .as_ref()
                    .map(|(m, _)| m)
                    .map(|a| a.username.to_lowercase());
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
                writes
            }
            Change::MailboxUpserted { account, mailbox } => {
                let (pk, sk) = (account_pk(account), mailbox_sk(mailbox.address.as_str()));
                let Some(read) = self.read_older(&pk, &sk, version).await? else {
                    return Ok(Verdict::Stale);
                };
                let after = mailbox
                    .clone()
                    .into_mailbox(version, read.live.as_ref().map(|(m, _)| m));
                Self::upsert(&pk, &sk, "mailbox", &read, &after)?
            }
            Change::DomainUpserted { account, domain } => {
                let (pk, sk) = (account_pk(account), domain_sk(&domain.name));
                let Some(read) = self
                    .read_older::<titolare_domain::CertifiedDomain>(&pk, &sk, version)
                    .await?
                else {
                    return Ok(Verdict::Stale);
                };
                let after = domain.clone().into_domain(version);
                Self::upsert(&pk, &sk, "domain", &read, &after)?
            }
            Change::MailboxRemoved { account, address } => {
                let (pk, sk) = (account_pk(account), mailbox_sk(address.as_str()));
                let Some(read) = self
                    .read_older::<titolare_domain::Mailbox>(&pk, &sk, version)
                    .await?
                else {
                    return Ok(Verdict::Stale);
                };
                Self::remove(&pk, &sk, &read, version)?
            }
            Change::DomainRemoved { account, name } => {
                let (pk, sk) = (account_pk(account), domain_sk(name));
                let Some(read) = self
                    .read_older::<titolare_domain::CertifiedDomain>(&pk, &sk, version)
                    .await?
                else {
                    return Ok(Verdict::Stale);
                };
                Self::remove(&pk, &sk, &read, version)?
            }
        };
        self.transact(&writes).await?;
        Ok(Verdict::Apply)
    }
}
