//! The change of holder over HTTP (docs/security.md for what each step rests on): the
//! initiator's routes (account login) and the holders' (link token). Every step is one read
//! of the transfer and one conditional transaction; a conflict means someone else moved
//! first, so the step is read and decided again, and a repeat is answered without being
//! applied twice.
//!
//! Modules depend downwards only: `access` and `views` on nothing here, `commit` on
//! `access`, the routes (`create`, `initiator`, `holder`, `codes`) on those three, and
//! `support` (the provider's operators) on the routes whose steps it takes for them.

mod access;
mod codes;
mod commit;
mod create;
mod holder;
mod initiator;
pub(crate) mod support;
mod views;

pub(crate) use access::{holder_transfer, initiator_transfer};
pub(crate) use codes::{send, status, verify};
pub(crate) use create::{check_management, create};
pub(crate) use holder::{holder_step, party, stop};
pub(crate) use initiator::{cancel, correct_contact, get, list, reinvite};
