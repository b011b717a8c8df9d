//! Request log rows: queued by the request path, written to the store in batches by one background task, which
//! folds refusals before any key was known into one row per client address, status and minute.

mod refusals;
mod writer;

pub use writer::{LogSink, LogWriter};
