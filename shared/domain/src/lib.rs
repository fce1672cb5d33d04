//! Titolare's domain: parsed values, holder rules, search semantics and the ports the
//! adapters implement. No I/O, no clock, no randomness of its own.

pub mod commands;
pub mod consequences;
pub mod delivery;
pub mod draft;
pub mod errors;
pub mod events;
pub mod holder;
pub mod ids;
pub mod inventory;
pub mod invite;
pub mod metrics;
pub mod moments;
pub mod otp;
pub mod outbox;
pub mod platform;
pub mod ports;
pub mod quota;
pub mod records;
pub mod reset;
pub mod search;
pub mod secret;
pub mod steps;
pub mod support;
pub mod text;
pub mod transfer;
pub mod values;
pub mod vocabulary;

pub use errors::FieldErrors;
pub use holder::{Field, Holder, HolderFields, HolderId, Lingua, Tipo, UpdateError};
pub use records::*;
pub use search::{
    FiscalIdentity, HolderQuery, HolderSummary, Page, PageRequest, QueryError, SearchIndex,
};
