//! OpenAI-compatible wire types the gateway reads or writes itself: the error body, the usage object, the model
//! list, and the few chat request fields Tollgate acts on. Serde only, no I/O. Everything else in a request is
//! passed through as raw JSON and never modelled here. Also the [`ChannelKind`] and [`MjMode`] enums, shared by the adapters, the
//! store and the gateway.

pub mod channel_kind;
pub mod chat;
pub mod error;
pub mod mj_mode;
pub mod models;
pub mod usage;

pub use channel_kind::ChannelKind;
pub use error::{ErrorBody, ErrorObject};
pub use mj_mode::MjMode;
pub use models::{ModelList, ModelObject};
pub use usage::Usage;
