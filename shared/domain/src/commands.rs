//! What a transfer asks of the mail platform and where each command stands: the commands a
//! completion decides, the password a new holder sets, the relay's marks and the
//! acknowledgements recorded (docs/platform.md). The formats are in `platform`.

use crate::platform::*;
use crate::transfer::{ItemKind, ItemOutcome, Transfer};
use jiff::Timestamp;

/// The commands of a completed change, for each item it moved: the holder changes; a
/// mailbox's access history is reset, delegated access suspended and second factor
/// unlinked (docs/rules.md, "What a change does to the mailbox").
pub fn of_completion(transfer: &Transfer, now: Timestamp) -> Vec<CommandRecord> {
    let mut commands = Vec::new();
    for (index, item) in transfer.items.iter().enumerate() {
        if item.outcome != Some(ItemOutcome::Moved) {
            continue;
        }
        let mut actions = vec![Action::HolderChanged {
            previous_holder: transfer.current_holder_card.id.clone(),
            new_holder: transfer.new_holder_card.id.clone(),
            new_holder_name: transfer.new_holder_card.name.clone(),
        }];
        if item.item.kind == ItemKind::Mailbox {
            actions.extend([
                Action::AccessHistoryReset,
                Action::DelegatedAccessSuspended,
                Action::SecondFactorUnlinked,
            ]);
        }
        for action in actions {
            commands.push(CommandRecord::waiting(Command {
                schema: SCHEMA,
                id: CommandId::new(&transfer.id, index, &action, None),
                target: item.item.id.clone(),
                target_kind: item.item.kind,
                account: transfer.target_account().clone(),
                issued_at: now,
                action,
            }));
        }
    }
    commands
}

/// The commands of `transfer` still to hand to the platform's queue.
pub fn to_relay(transfer: &Transfer) -> Vec<&Command> {
    transfer
        .platform
        .iter()
        .filter(|r| matches!(r.state, CommandState::Waiting { relayed_at: None }))
        .map(|r| &r.command)
        .collect()
}

/// `transfer` with the commands `ids` marked handed to the platform's queue at `now`.
pub fn relayed(transfer: &Transfer, ids: &[CommandId], now: Timestamp) -> Transfer {
    let mut after = transfer.clone();
    for record in &mut after.platform {
        if ids.contains(&record.command.id)
            && matches!(record.state, CommandState::Waiting { relayed_at: None })
        {
            record.state = CommandState::Waiting {
                relayed_at: Some(now),
            };
        }
    }
    after
}

/// The acknowledgement names no command of its transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no such command")]
pub struct UnknownCommand;

/// `transfer` with `ack` recorded, and the command as it was; `None`: already recorded.
pub fn acknowledge(
    transfer: &Transfer,
    ack: &Ack,
) -> Result<Option<(Transfer, Command)>, UnknownCommand> {
    let index = transfer
        .platform
        .iter()
        .position(|r| r.command.id == ack.command)
        .ok_or(UnknownCommand)?;
    let record = &transfer.platform[index];
    let Some(done) = record.acknowledged(ack) else {
        return Ok(None);
    };
    let command = record.command.clone();
    let mut after = transfer.clone();
    after.platform[index] = done;
    Ok(Some((after, command)))
}

/// `transfer` with the command that gives the platform `mailbox`'s new password; `None`:
/// the transfer did not move that mailbox.
pub fn with_password(
    transfer: &Transfer,
    mailbox: &str,
    password_hash: &str,
    now: Timestamp,
) -> Option<Transfer> {
    let index = transfer.items.iter().position(|i| {
        i.item.kind == ItemKind::Mailbox
            && i.item.id.eq_ignore_ascii_case(mailbox)
            && i.outcome == Some(ItemOutcome::Moved)
    })?;
    let target = &transfer.items[index].item.id;
    let earlier = transfer
        .platform
        .iter()
        .filter(|r| r.command.target == *target)
        .filter(|r| matches!(r.command.action, Action::PasswordSet { .. }))
        .count() as u64;
    let mut after = transfer.clone();
    after.platform.push(CommandRecord::waiting(password_set(
        &transfer.id,
        index,
        earlier + 1,
        transfer.target_account(),
        &transfer.items[index].item.id,
        password_hash,
        now,
    )));
    Some(after)
}
