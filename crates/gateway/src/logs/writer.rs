//! The batching log writer. The request path only pushes into a bounded queue (a full queue slows requests down
//! rather than dropping rows); one task writes up to `BATCH` rows per transaction, retrying failed batches, and on
//! shutdown drains the queue completely before returning.

use std::time::Duration;
use store::{LogRow, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const QUEUE: usize = 16_384;
const BATCH: usize = 512;

#[derive(Clone)]
pub struct LogSink {
    tx: mpsc::Sender<LogRow>,
}

impl LogSink {
    pub async fn push(&self, row: LogRow) {
        if let Err(e) = self.tx.send(row).await {
            // Only after the writer finished, i.e. a row produced after the final drain: say so loudly.
            tracing::error!(request_id = %e.0.request_id, "log row produced after the log writer stopped");
        }
    }
}

pub struct LogWriter {
    rx: mpsc::Receiver<LogRow>,
    store: Store,
}

impl LogWriter {
    pub fn new(store: Store) -> (LogSink, LogWriter) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (LogSink { tx }, LogWriter { rx, store })
    }

    /// Runs until `stop` fires (or every `LogSink` is dropped), then closes the queue and writes what is left.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let got = tokio::select! {
                n = self.rx.recv_many(&mut batch, BATCH) => n,
                () = stop.cancelled() => break,
            };
            if got == 0 {
                return;
            }
            self.write(&batch).await;
            batch.clear();
        }
        self.rx.close();
        while self.rx.recv_many(&mut batch, BATCH).await > 0 {
            self.write(&batch).await;
            batch.clear();
        }
    }

    async fn write(&self, rows: &[LogRow]) {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.store.insert_logs(rows).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, rows = rows.len(), "writing log rows failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
