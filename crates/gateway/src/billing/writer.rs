//! The batching ledger-and-log writer. The request path only pushes into a bounded queue (a full queue slows
//! requests down rather than dropping anything); one task settles the charges and writes the log rows of up to
//! `BATCH` requests per transaction — so a charge and its row are written together, and the request path never
//! waits on the database for them — retrying failed batches, and on shutdown drains the queue completely before
//! returning. With the in-memory ledger it is also the one place that tells the ledger what was committed and
//! re-reads the accounts when money moved elsewhere (so no commit can interleave with that read). Rows of requests
//! refused before any key was known are folded into one row per address, status and minute
//! ([`super::refusals`]); their counts are added each minute (`FOLD_TICK`) and at shutdown, after their rows.

use super::ledger::QuotaLedger;
use super::refusals::{self, RefusalFolder};
use crate::observe::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use store::{LogEntry, LogRow, Reservation, Store};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

const QUEUE: usize = 16_384;
const BATCH: usize = 512;
/// Under load, how long a batch collects before its commit starts: with the commit in progress, what a crash
/// (kill -9) can lose (docs/performance.md, "Durability"). An idle writer commits at once.
pub const LINGER: Duration = Duration::from_millis(10);
/// A batch at least this large means the gateway is busy: the next batch lingers.
const BUSY_BATCH: usize = 32;
/// How often the writer looks for folded refusals of a minute that is over.
const FOLD_TICK: Duration = Duration::from_secs(5);

/// Entries and refusals are the queue's traffic and stay unboxed (no allocation per request).
enum WriterMsg {
    Entry(LogEntry),
    /// Re-read the ledger's accounts after everything queued before this message is committed.
    Rebase(oneshot::Sender<()>),
    /// A request refused before any key was known: folded ([`RefusalFolder`]).
    Refusal(LogRow),
}

#[derive(Clone)]
pub struct LogSink {
    tx: mpsc::Sender<WriterMsg>,
    ledger: Arc<QuotaLedger>,
    /// Cuts a lingering batch short when someone waits for the writer.
    urgent: Arc<Notify>,
}

impl LogSink {
    /// A row with no money attached (refused before any reservation).
    pub async fn push(&self, row: LogRow) {
        self.send(LogEntry { row, charge: None }).await;
    }

    /// The row of a request refused before any key was known (`relay::log::before_any_key`): folded into one
    /// row per client address, status and minute instead of written on its own.
    pub async fn push_refusal(&self, row: LogRow) {
        if self.tx.send(WriterMsg::Refusal(row)).await.is_err() {
            tracing::error!("refusal logged after the log writer stopped");
        }
    }

    /// A row plus the settlement of its reservation to `actual` (0 = refund); the row's cost is set to what the
    /// ledger really charged.
    pub async fn push_charged(&self, row: LogRow, reservation: &Reservation, actual: i64) {
        let charge = self.ledger.settle(reservation, actual);
        self.send(LogEntry {
            row,
            charge: Some(charge),
        })
        .await;
    }

    /// `push_charged` without waiting: the entry is queued now, or — only when the queue is full — handed back
    /// as a future that queues it (the caller runs it in its task tracker).
    pub fn push_charged_nowait(
        &self,
        row: LogRow,
        reservation: &Reservation,
        actual: i64,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let charge = self.ledger.settle(reservation, actual);
        let entry = LogEntry {
            row,
            charge: Some(charge),
        };
        match self.tx.try_send(WriterMsg::Entry(entry)) {
            Ok(()) => None,
            Err(mpsc::error::TrySendError::Full(WriterMsg::Entry(entry))) => {
                let sink = self.clone();
                Some(async move { sink.send(entry).await })
            }
            Err(mpsc::error::TrySendError::Closed(WriterMsg::Entry(entry))) => {
                // As in `send`: only after the final drain.
                tracing::error!(request_id = %entry.row.request_id, "log entry produced after the log writer stopped");
                None
            }
            // Only entries are sent here.
            Err(_) => None,
        }
    }

    /// Entries waiting in the queue.
    pub fn queued(&self) -> usize {
        QUEUE.saturating_sub(self.tx.capacity())
    }

    /// Call after changing a balance, a spent amount or a cap in the store directly: returns once the ledger
    /// sees the change.
    pub async fn rebase_ledger(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(WriterMsg::Rebase(done)).await.is_ok() {
            self.urgent.notify_one();
            let _ = wait.await;
        }
    }

    async fn send(&self, entry: LogEntry) {
        if let Err(e) = self.tx.send(WriterMsg::Entry(entry)).await
            && let WriterMsg::Entry(entry) = e.0
        {
            // Only after the writer finished, i.e. produced after the final drain: say so loudly. A database
            // hold, if any, stays in `reservations` and is released at the next start.
            tracing::error!(request_id = %entry.row.request_id, "log entry produced after the log writer stopped");
        }
    }
}

pub struct LogWriter {
    rx: mpsc::Receiver<WriterMsg>,
    store: Store,
    ledger: Arc<QuotaLedger>,
    urgent: Arc<Notify>,
    /// Counts each committed row (so `/metrics` agrees with the logs and the bills).
    metrics: Arc<Metrics>,
    refusals: RefusalFolder,
}

impl LogWriter {
    pub fn new(
        store: Store,
        ledger: Arc<QuotaLedger>,
        metrics: Arc<Metrics>,
    ) -> (LogSink, LogWriter) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let urgent = Arc::new(Notify::new());
        (
            LogSink {
                tx,
                ledger: ledger.clone(),
                urgent: urgent.clone(),
            },
            LogWriter {
                rx,
                store,
                ledger,
                urgent,
                metrics,
                refusals: RefusalFolder::default(),
            },
        )
    }

    /// Runs until `stop` fires (or every `LogSink` is dropped), then closes the queue and writes what is left.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut messages = Vec::with_capacity(BATCH);
        let mut busy = false;
        let mut fold_tick = tokio::time::interval(FOLD_TICK);
        fold_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let got = tokio::select! {
                n = self.rx.recv_many(&mut messages, BATCH) => n,
                _ = fold_tick.tick() => {
                    let counts = self.refusals.close_before(refusals::minute_of_now());
                    self.add_counts(&counts).await;
                    continue;
                }
                () = stop.cancelled() => break,
            };
            if got == 0 {
                break;
            }
            if busy && got < BATCH && !self.linger(&mut messages, &stop).await {
                self.handle(&mut messages).await;
                break;
            }
            busy = messages.len() >= BUSY_BATCH;
            self.handle(&mut messages).await;
        }
        self.rx.close();
        while self.rx.recv_many(&mut messages, BATCH).await > 0 {
            self.handle(&mut messages).await;
        }
        let counts = self.refusals.close_all();
        self.add_counts(&counts).await;
    }

    /// Under load (the previous batch was large), waits `LINGER` before taking the rest of the batch, so a busy
    /// gateway commits fewer, larger transactions: each commit rewrites the same index pages of `logs`, so the
    /// database work scales with commits more than with rows. Sleeping instead of receiving means the queue does
    /// not wake this task once per request. A rebase (an operator waits for it) or `stop` ends the wait early.
    /// Returns false when the queue closed or `stop` fired.
    async fn linger(&mut self, messages: &mut Vec<WriterMsg>, stop: &CancellationToken) -> bool {
        if !messages.iter().any(|m| matches!(m, WriterMsg::Rebase(_))) {
            tokio::select! {
                () = tokio::time::sleep(LINGER) => {}
                () = self.urgent.notified() => {}
                () = stop.cancelled() => return false,
            }
        }
        let room = BATCH.saturating_sub(messages.len());
        if room > 0 && !self.rx.is_empty() {
            return self.rx.recv_many(messages, room).await > 0;
        }
        true
    }

    async fn handle(&mut self, messages: &mut Vec<WriterMsg>) {
        let mut batch = Vec::with_capacity(messages.len());
        for msg in messages.drain(..) {
            match msg {
                WriterMsg::Refusal(row) => self.fold(row, &mut batch),
                WriterMsg::Entry(entry) => batch.push(entry),
                WriterMsg::Rebase(done) => {
                    self.write(&mut batch).await;
                    batch.clear();
                    if let Err(e) = self.ledger.rebase().await {
                        tracing::error!(error = %e, "re-reading balances for the ledger failed");
                    }
                    let _ = done.send(());
                }
            }
        }
        self.write(&mut batch).await;
    }

    /// A refusal opens its bucket's row (written with the batch) or is counted on it; `/metrics` counts a
    /// counted one now (a written row is counted when committed).
    fn fold(&mut self, mut row: LogRow, batch: &mut Vec<LogEntry>) {
        if self.refusals.take(&mut row) {
            batch.push(LogEntry { row, charge: None });
        } else {
            self.metrics.record(&row);
        }
    }

    /// Adds folded refusals to their rows' `count`, retrying like `write` (their rows are committed already:
    /// they were written by an earlier `handle`).
    async fn add_counts(&self, counts: &[(String, i64)]) {
        if counts.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(50);
        while let Err(e) = self.store.add_log_counts(counts).await {
            tracing::warn!(error = %e, rows = counts.len(), "adding folded refusals to their log rows failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn write(&self, rows: &mut [LogEntry]) {
        if rows.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(50);
        loop {
            match self
                .store
                .settle_and_log(rows, self.ledger.slice_holder())
                .await
            {
                Ok(()) => {
                    self.ledger
                        .committed(rows.iter().filter_map(|e| e.charge.as_ref()));
                    for entry in rows.iter() {
                        self.metrics.record(&entry.row);
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, rows = rows.len(), "writing log rows failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::LogFilter;

    fn row(i: usize) -> LogRow {
        LogRow {
            request_id: format!("req_{i:06}"),
            status: 200,
            ..Default::default()
        }
    }

    async fn count(store: &Store) -> i64 {
        store
            .query_logs(&LogFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .1
    }

    /// Starts a writer on an in-memory database: the store, the sink that feeds the writer, the token that stops
    /// it and its task.
    async fn start() -> (
        Store,
        LogSink,
        CancellationToken,
        tokio::task::JoinHandle<()>,
    ) {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let ledger = Arc::new(QuotaLedger::Memory(
            super::super::memory_ledger::MemoryLedger::new(store.clone()),
        ));
        let (sink, writer) = LogWriter::new(store.clone(), ledger, Arc::default());
        let stop = CancellationToken::new();
        let running = tokio::spawn(writer.run(stop.clone()));
        (store, sink, stop, running)
    }

    /// Bursts large enough to switch the writer into lingering mode lose nothing, are written within a few
    /// lingers while it runs, and whatever is queued when it stops is written before `run` returns.
    #[tokio::test]
    async fn busy_bursts_are_all_written_and_stop_drains_the_rest() {
        let (store, sink, stop, running) = start().await;

        let mut sent = 0;
        for _ in 0..5 {
            for _ in 0..(BUSY_BATCH * 3) {
                sink.push(row(sent)).await;
                sent += 1;
            }
            tokio::task::yield_now().await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while count(&store).await < i64::try_from(sent).unwrap() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "rows not written while running"
            );
            tokio::time::sleep(LINGER).await;
        }

        // A burst queued right before stop is drained, not dropped.
        for _ in 0..(BATCH + 7) {
            sink.push(row(sent)).await;
            sent += 1;
        }
        stop.cancel();
        running.await.unwrap();
        assert_eq!(count(&store).await, i64::try_from(sent).unwrap());
    }

    /// A flood of refusals from one address writes one row per status (the first of each), whose counts add up
    /// to the flood once the writer stops; any other row is written on its own.
    #[tokio::test]
    async fn refusals_are_folded_into_one_row_per_address_and_status() {
        let (store, sink, stop, running) = start().await;
        let time = chrono::Utc::now();
        for i in 0..1000 {
            sink.push_refusal(LogRow {
                request_id: format!("bad_{i:04}"),
                time,
                status: if i < 30 { 401 } else { 429 },
                client_ip: Some("203.0.113.7".into()),
                ..Default::default()
            })
            .await;
        }
        sink.push(row(1)).await;
        stop.cancel();
        running.await.unwrap();
        let (rows, total) = store
            .query_logs(&LogFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(total, 3, "{rows:#?}");
        let folded: Vec<&LogRow> = rows.iter().filter(|r| r.client_ip.is_some()).collect();
        assert_eq!(folded.iter().map(|r| r.count).sum::<i64>(), 1000);
        let mut firsts: Vec<&str> = folded.iter().map(|r| r.request_id.as_str()).collect();
        firsts.sort_unstable();
        assert_eq!(firsts, ["bad_0000", "bad_0030"]);
        assert!(
            rows.iter()
                .any(|r| r.request_id == "req_000001" && r.count == 1)
        );
    }
}
