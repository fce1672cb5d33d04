//! Titolare's single-table data model over an item-level [`ItemBackend`] port, so the
//! embedded store and DynamoDB share one key design, one set of repositories and one
//! conformance suite.

pub mod backend;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
mod fixtures;
mod inventory;
pub mod keys;
pub mod probes;
mod table;
mod transfers;

pub use backend::{
    BackendError, Condition, Count, Item, ItemBackend, Query, QueryPage, TTL_ATTRIBUTE, Write,
};
pub use table::TableStore;
