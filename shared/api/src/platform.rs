//! The mail platform's side of a change (docs/platform.md): the commands a transfer holds
//! handed to the platform's queue, and its acknowledgements recorded. Both are one read and
//! one conditional write of the transfer, read again after a concurrent write.

use titolare_domain::commands::{self, UnknownCommand};
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::platform::{Ack, AckError, AckResult, Action};
use titolare_domain::ports::*;
use titolare_domain::transfer::{ItemKind, ItemRef, TransferId};

/// How often a write is tried again after a concurrent write to the transfer.
const ATTEMPTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The acknowledgement can never be recorded: kept aside with this reason.
    #[error("invalid acknowledgement: {0}")]
    Invalid(String),
    /// The platform's queue or the store failed: tried again later.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for PlatformError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<AckError> for PlatformError {
    fn from(e: AckError) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl From<UnknownCommand> for PlatformError {
    fn from(e: UnknownCommand) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// Hands the transfer's waiting commands to the platform's queue, in order, and marks them
/// relayed, so the next change of the transfer (an acknowledgement) does not hand them over
/// again. A command handed over twice (a crash before the mark) is applied once: the queue
/// and the platform know it by its id.
pub async fn relay<S: TransferReader + TransferWriter + ?Sized>(
    store: &S,
    queue: &dyn Platform,
    clock: &dyn Clock,
    id: &TransferId,
) -> Result<usize, PlatformError> {
    let Some(mut read) = store.transfer(id).await? else {
        return Ok(0);
    };
    let sent = deliver(queue, &read.value).await?;
    if sent.is_empty() {
        return Ok(0);
    }
    for _ in 0..ATTEMPTS {
        let after = commands::relayed(&read.value, &sent, clock.now());
        let commit = TransferCommit::new(
            TransferCondition::UnchangedPastDeadline(read.version),
            &after,
        );
        match store.commit(&commit).await {
            Ok(()) => return Ok(sent.len()),
            Err(StoreError::Conflict) => {
                read = store
                    .transfer(id)
                    .await?
                    .ok_or_else(|| PlatformError::Unavailable("the transfer is gone".into()))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Hands the commands of `transfer` not yet relayed to the queue, in order; their ids. The
/// local gateway's queue deduplicates by id itself, so it needs no mark in the table.
pub async fn deliver(
    queue: &dyn Platform,
    transfer: &titolare_domain::transfer::Transfer,
) -> Result<Vec<titolare_domain::platform::CommandId>, PlatformError> {
    let mut sent = Vec::new();
    for command in commands::to_relay(transfer) {
        queue
            .deliver(command)
            .await
            .map_err(PlatformError::Unavailable)?;
        sent.push(command.id.clone());
    }
    Ok(sent)
}

/// What recording an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Recorded(AckResult),
    /// The same acknowledgement again: nothing to do.
    Already,
}

/// Records one acknowledgement (its JSON text); a password the platform has applied is
/// erased from the mailbox and from the command, in the same write.
pub async fn record_ack<S: TransferReader + TransferWriter + ?Sized>(
    store: &S,
    metrics: &dyn Metrics,
    text: &str,
) -> Result<Recorded, PlatformError> {
    let ack = Ack::parse(text)?;
    let id = ack.command.transfer();
    for _ in 0..ATTEMPTS {
        let read = store.transfer(&id).await?.ok_or(UnknownCommand)?;
        let Some((after, command)) = commands::acknowledge(&read.value, &ack)? else {
            return Ok(Recorded::Already);
        };
        let mut commit = TransferCommit::new(
            TransferCondition::UnchangedPastDeadline(read.version),
            &after,
        );
        if let Action::PasswordSet {
            password_hash: Some(hash),
        } = &command.action
            && ack.result != AckResult::Refused
        {
            commit.mailbox = erased(store, &command.account, &command.target, hash).await?;
        }
        match store.commit(&commit).await {
            Ok(()) => {
                metrics.record(Metric::PlatformAck {
                    outcome: match ack.result {
                        AckResult::Applied => "applied",
                        AckResult::NotApplicable => "not_applicable",
                        AckResult::Refused => "refused",
                    },
                });
                if ack.result == AckResult::Refused {
                    tracing::error!(
                        command = ack.command.as_str(),
                        "the mail platform refused a command"
                    );
                }
                return Ok(Recorded::Recorded(ack.result));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// The mailbox without the password hash the platform now has (`None`: it holds another
/// one by now, or is gone).
async fn erased<S: TransferReader + ?Sized>(
    store: &S,
    account: &titolare_domain::AccountId,
    address: &str,
    hash: &str,
) -> Result<Option<MailboxUpdate>, PlatformError> {
    let Ok(item) = ItemRef::parse(ItemKind::Mailbox, address) else {
        return Ok(None);
    };
    let Some(Some(ItemState::Mailbox(mailbox))) = store.items(account, &[item]).await?.pop() else {
        return Ok(None);
    };
    if mailbox.value.password_hash.as_deref() != Some(hash) {
        return Ok(None);
    }
    let mut after = mailbox.value.clone();
    after.password_hash = None;
    Ok(Some(MailboxUpdate {
        account: account.clone(),
        before: mailbox.version,
        after,
    }))
}
