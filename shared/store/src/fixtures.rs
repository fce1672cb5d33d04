//! Writing what tests and the demo seed start from (accounts, holders, mailboxes, domains,
//! requests) directly, outside the flows that normally write it.

use crate::backend::{Condition, Item, Write};
use crate::keys::*;
use crate::table::{TableStore, encode};
use crate::transfers::{lock_item, owner, transfer_item};
use async_trait::async_trait;
use titolare_domain::ports::*;
use titolare_domain::*;

#[async_trait]
impl Fixtures for TableStore {
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        let item = Item::new(
            account_pk(&account.id),
            ACCOUNT_SK,
            "account",
            encode(account)?,
        );
        let user = Item::new(
            username_pk(&account.username),
            USER_SK,
            "username",
            encode(&account.id)?,
        );
        self.transact(&[
            Write::put(item, Condition::Always),
            Write::put(user, Condition::Always),
        ])
        .await
    }

    async fn seed_holder(&self, account: &AccountId, holder: &Holder) -> Result<(), StoreError> {
        match self
            .transact(&Self::holder_writes(account, holder, 1, Condition::Absent)?)
            .await
        {
            Err(StoreError::Conflict) => Ok(()),
            other => other,
        }
    }

    async fn put_mailbox(&self, account: &AccountId, mailbox: &Mailbox) -> Result<(), StoreError> {
        let item = Item::new(
            account_pk(account),
            mailbox_sk(mailbox.address.as_str()),
            "mailbox",
            encode(mailbox)?,
        );
        self.transact(&[Write::put(item, Condition::Always)]).await
    }

    async fn put_transfer(
        &self,
        transfer: &titolare_domain::transfer::Transfer,
    ) -> Result<(), StoreError> {
        // A new version, so readers of the old one see it changed.
        let mut item = transfer_item(transfer)?;
        item.version = self
            .get_item(&item.pk, &item.sk)
            .await?
            .map_or(1, |old| old.version + 1);
        let mut writes = vec![Write::put(item, Condition::Always)];
        // The locks a running transfer holds, as its draft's commit takes them.
        if !transfer.status.is_ended() {
            let draft = titolare_domain::consequences::bookkept(
                titolare_domain::ports::TransferCondition::New,
                None,
                transfer,
                None,
            );
            for lock in &draft.locks {
                if let titolare_domain::ports::LockWrite::Put {
                    item, lock, until, ..
                } = lock
                {
                    let put = lock_item(item, lock, owner(&transfer.id), *until)?;
                    writes.push(Write::put(put, Condition::Always));
                }
            }
        }
        self.transact(&writes).await
    }

    async fn put_domain(
        &self,
        account: &AccountId,
        domain: &CertifiedDomain,
    ) -> Result<(), StoreError> {
        let item = Item::new(
            account_pk(account),
            domain_sk(&domain.name),
            "domain",
            encode(domain)?,
        );
        self.transact(&[Write::put(item, Condition::Always)]).await
    }
}
