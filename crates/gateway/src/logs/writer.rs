//! The batching ledger-and-log writer. The request path only pushes into a bounded queue (a full queue slows
//! requests down rather than dropping anything); one task settles the reservations and writes the log rows of up to
//! `BATCH` requests per transaction — so a charge and its row are written together, and the per-request cost on
//! the single SQLite writer is one reservation plus a share of a batch — retrying failed batches, and on shutdown
//! drains the queue completely before returning.

use std::time::Duration;
use store::{Charge, LogEntry, LogRow, Reservation, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const QUEUE: usize = 16_384;
const BATCH: usize = 512;

#[derive(Clone)]
pub struct LogSink {
    tx: mpsc::Sender<LogEntry>,
}

impl LogSink {
    /// A row with no money attached (refused before any reservation).
    pub async fn push(&self, row: LogRow) {
        self.send(LogEntry { row, charge: None }).await;
    }

    /// A row plus the settlement of its reservation to `actual` (0 = refund); the row's cost is set to what the
    /// ledger really charged.
    pub async fn push_charged(&self, row: LogRow, reservation: &Reservation, actual: i64) {
        let charge = Charge {
            request_id: reservation.request_id.clone(),
            actual,
        };
        self.send(LogEntry {
            row,
            charge: Some(charge),
        })
        .await;
    }

    async fn send(&self, entry: LogEntry) {
        if let Err(e) = self.tx.send(entry).await {
            // Only after the writer finished, i.e. produced after the final drain: say so loudly. The hold, if
            // any, stays in `reservations` and is released at the next start.
            tracing::error!(request_id = %e.0.row.request_id, "log entry produced after the log writer stopped");
        }
    }
}

pub struct LogWriter {
    rx: mpsc::Receiver<LogEntry>,
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
            self.write(&mut batch).await;
            batch.clear();
        }
        self.rx.close();
        while self.rx.recv_many(&mut batch, BATCH).await > 0 {
            self.write(&mut batch).await;
            batch.clear();
        }
    }

    async fn write(&self, rows: &mut [LogEntry]) {
        let mut delay = Duration::from_millis(50);
        loop {
            match self.store.settle_and_log(rows).await {
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
