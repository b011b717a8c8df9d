//! Money: what a request costs (integer micro-units), what to reserve before relaying, counting tokens when an
//! upstream reports no usage, settling a finished request, and the writer that commits charges with their log rows
//! (one background task, in batches; refusals before any key was known folded into one row per client address,
//! status and minute).

pub mod estimate;
pub mod ledger;
pub mod memory_ledger;
pub mod paid_tools;
pub mod pricing;
mod refusals;
pub mod settle;
pub mod sliced_ledger;
pub mod tokenizer;
pub mod writer;

pub use writer::{LogSink, LogWriter};
