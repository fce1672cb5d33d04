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
use titolare_domain::inventory::{Change, InventoryMessage, Replica, Sourced, Verdict, apply};
use titolare_domain::ports::{InventoryWriter, StoreError};

/// The tombstone's data.
#[derive(serde::Serialize, serde::Deserialize)]
struct Removed {
    version: u64,
}

/// What the table holds at an entity's key and at its tombstone's, with the item versions
/// the writes are conditional on.
struct Read<T> {
    replica: Replica<T>,
    live_version: Option<u64>,
    tombstone_version: Option<u64>,
}

impl TableStore {
    async fn read_replica<T: DeserializeOwned + Sourced>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Read<T>, StoreError> {
        if let Some(item) = self.get_item(pk, sk).await? {
            return Ok(Read {
                replica: Replica::Live(decode(&item)?),
                live_version: Some(item.version),
                tombstone_version: None,
            });
        }
        match self.get_item(pk, &removed_sk(sk)).await? {
            Some(item) => {
                let removed: Removed = decode(&item)?;
                Ok(Read {
                    replica: Replica::Removed {
                        version: removed.version,
                    },
                    live_version: None,
                    tombstone_version: Some(item.version),
                })
            }
            None => Ok(Read {
                replica: Replica::Never,
                live_version: None,
                tombstone_version: None,
            }),
        }
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
        Ok((apply(read.replica.version(), version) == Verdict::Apply).then_some(read))
    }

    /// The writes of an upsert over what was read: the record, and the tombstone cleared.
    fn upsert<T, V: Serialize>(
        pk: &str,
        sk: &str,
        kind: &str,
        read: &Read<T>,
        value: &V,
    ) -> Result<Vec<Write>, StoreError> {
        let mut item = Item::new(pk, sk, kind, encode(value)?);
        item.version = read.live_version.map_or(1, |v| v + 1);
        let mut writes = vec![Write::put(item, condition(read.live_version))];
        if let Some(v) = read.tombstone_version {
            writes.push(Write::Delete {
                pk: pk.to_owned(),
                sk: removed_sk(sk),
                condition: Condition::Version(v),
            });
        }
        Ok(writes)
    }

    /// The writes of a removal over what was read: the record deleted, the tombstone kept.
    fn remove<T>(
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
        tombstone.version = read.tombstone_version.map_or(1, |v| v + 1);
        let mut writes = vec![Write::put(tombstone, condition(read.tombstone_version))];
        if let Some(v) = read.live_version {
            writes.push(Write::Delete {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                condition: Condition::Version(v),
            });
        }
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
                let before = read.replica.live().map(|a| a.username.to_lowercase());
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
                let after = mailbox.clone().into_mailbox(version, read.replica.live());
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
