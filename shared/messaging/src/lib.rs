//! What people receive and how it leaves: templates, the Messenger port and its adapters,
//! and the dispatcher that turns outbox records into sent messages.

pub mod dispatch;
pub mod messenger;
pub mod stream;
pub mod templates;

pub use dispatch::{DispatchError, Dispatched, Dispatcher, SweepReport};
pub use messenger::{AwsMessenger, Envelope, LocalOutbox, Messenger, OutboxEntry, SendError};
pub use templates::{Render, Rendered, Secrets};
