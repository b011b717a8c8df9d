//! Request log rows: queued by the request path, written to the store in batches by one background task.

mod writer;

pub use writer::{LogSink, LogWriter};
