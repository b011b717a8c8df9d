//! Prometheus metrics (`GET /metrics`, OpenMetrics text). Per-request figures are taken from the log rows as the
//! log writer commits them — one place that sees every request, off the request path, and counting exactly what
//! was billed. Gauges that describe the present (channel health, open streams, pools, the log queue) are read
//! when scraped.

use crate::catalog::Snapshot;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use store::LogRow;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    model: String,
    channel: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelChannel {
    model: String,
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    channel: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FigureLabels {
    figure: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
    state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// 5 ms … ~41 s, doubling.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    errors: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RequestLabels>,
    ttft: HistogramFamily<RequestLabels>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelChannel, Counter>,
    streams_open: Gauge,
    realtime_sessions_open: Gauge,
    channel_healthy: Family<ChannelLabels, Gauge>,
    channel_keys_healthy: Family<ChannelLabels, Gauge>,
    db_connections: Family<PoolLabels, Gauge>,
    redis_up: Gauge,
    log_queue: Gauge,
    ledger: Family<FigureLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tollgate");
        let requests = Family::<RequestLabels, Counter>::default();
        let errors = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily<RequestLabels> =
            Family::new_with_constructor(seconds_histogram);
        let ttft: HistogramFamily<RequestLabels> = Family::new_with_constructor(seconds_histogram);
        let tokens = Family::<TokenLabels, Counter>::default();
        let cost = Family::<ModelChannel, Counter>::default();
        let streams_open = Gauge::default();
        let realtime_sessions_open = Gauge::default();
        let channel_healthy = Family::<ChannelLabels, Gauge>::default();
        let channel_keys_healthy = Family::<ChannelLabels, Gauge>::default();
        let db_connections = Family::<PoolLabels, Gauge>::default();
        let redis_up = Gauge::default();
        let log_queue = Gauge::default();
        let ledger = Family::<FigureLabels, Gauge>::default();
        registry.register(
            "requests",
            "Requests answered, by model, channel (id, empty when none was tried) and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_errors",
            "Requests answered with an HTTP status of 400 or more",
            errors.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the request's arrival to the end of its answer",
            latency.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "Time from the request's arrival to the first streamed token (streams only)",
            ttft.clone(),
        );
        registry.register(
            "tokens",
            "Tokens billed, by kind (prompt, cached, completion)",
            tokens.clone(),
        );
        registry.register(
            "cost_micro_units",
            "Money charged, in integer micro-units of the operator's currency",
            cost.clone(),
        );
        registry.register(
            "streams_open",
            "Streamed answers being delivered right now",
            streams_open.clone(),
        );
        registry.register(
            "realtime_sessions_open",
            "Realtime WebSocket sessions open right now",
            realtime_sessions_open.clone(),
        );
        registry.register(
            "channel_healthy",
            "1 while the channel is enabled and in rotation, else 0",
            channel_healthy.clone(),
        );
        registry.register(
            "channel_keys_healthy",
            "Upstream keys of the channel in rotation",
            channel_keys_healthy.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections by pool and state (idle, busy)",
            db_connections.clone(),
        );
        registry.register(
            "redis_up",
            "1 when Redis answered the last scrape's PING (or none is configured), else 0",
            redis_up.clone(),
        );
        registry.register(
            "log_queue_depth",
            "Log rows and charges waiting for the writer",
            log_queue.clone(),
        );
        registry.register(
            "ledger",
            "Budget slices of this instance (instances sharing a database): accounts, granted, reserved and pending \
             micro-units, and since start grows, handovers_asked, handovers_given, forgotten (lapsed slices removed)",
            ledger.clone(),
        );
        Self {
            registry,
            requests,
            errors,
            latency,
            ttft,
            tokens,
            cost,
            streams_open,
            realtime_sessions_open,
            channel_healthy,
            channel_keys_healthy,
            db_connections,
            redis_up,
            log_queue,
            ledger,
        }
    }

    /// Counts one finished request from its committed log row.
    pub fn record(&self, row: &LogRow) {
        let model = row.model.clone().unwrap_or_default();
        let channel = row.channel_id.map(|c| c.to_string()).unwrap_or_default();
        let labels = RequestLabels {
            model: model.clone(),
            channel: channel.clone(),
            status: row.status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        if row.status >= 400 {
            self.errors.get_or_create(&labels).inc();
        }
        self.latency
            .get_or_create(&labels)
            .observe(millis_to_secs(row.latency_ms));
        if let Some(ttft) = row.ttft_ms
            && row.stream
        {
            self.ttft
                .get_or_create(&labels)
                .observe(millis_to_secs(ttft));
        }
        let by_kind = [
            ("prompt", row.prompt_tokens),
            ("cached", row.cached_tokens),
            ("completion", row.completion_tokens),
        ];
        for (kind, n) in by_kind {
            if let Ok(n) = u64::try_from(n)
                && n > 0
            {
                self.tokens
                    .get_or_create(&TokenLabels {
                        model: model.clone(),
                        channel: channel.clone(),
                        kind: kind.to_owned(),
                    })
                    .inc_by(n);
            }
        }
        if let Ok(cost) = u64::try_from(row.cost)
            && cost > 0
        {
            self.cost
                .get_or_create(&ModelChannel { model, channel })
                .inc_by(cost);
        }
    }

    /// A stream is being delivered until the guard drops.
    pub fn stream_opened(&self) -> OpenStream {
        self.streams_open.inc();
        OpenStream(self.streams_open.clone())
    }

    /// A realtime session is open until the guard drops.
    pub fn realtime_session_opened(&self) -> OpenStream {
        self.realtime_sessions_open.inc();
        OpenStream(self.realtime_sessions_open.clone())
    }

    /// The exposition, with the present-state gauges set from `now`.
    pub fn render(&self, now: &Present<'_>) -> String {
        let snap = now.snapshot;
        self.channel_healthy.clear();
        self.channel_keys_healthy.clear();
        for entry in snap.channels() {
            let c = &entry.channel;
            let labels = ChannelLabels {
                channel: c.id.to_string(),
                name: c.name.clone(),
            };
            let healthy =
                c.enabled && c.health == store::ChannelHealth::Healthy && entry.has_healthy_key();
            self.channel_healthy
                .get_or_create(&labels)
                .set(i64::from(healthy));
            let keys = c.keys.iter().filter(|k| k.healthy).count();
            self.channel_keys_healthy
                .get_or_create(&labels)
                .set(i64::try_from(keys).unwrap_or(i64::MAX));
        }
        for &(pool, open, idle) in &now.pools {
            let idle = i64::try_from(idle).unwrap_or(0);
            let busy = i64::from(open).saturating_sub(idle).max(0);
            for (which, n) in [("idle", idle), ("busy", busy)] {
                self.db_connections
                    .get_or_create(&PoolLabels {
                        pool: pool.to_owned(),
                        state: which.to_owned(),
                    })
                    .set(n);
            }
        }
        self.redis_up.set(i64::from(now.redis_up));
        self.log_queue
            .set(i64::try_from(now.log_queue).unwrap_or(i64::MAX));
        for &(figure, value) in &now.ledger {
            self.ledger
                .get_or_create(&FigureLabels {
                    figure: figure.to_owned(),
                })
                .set(value);
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// The present state the gauges show, read by the caller at scrape time.
pub struct Present<'a> {
    pub snapshot: &'a Snapshot,
    /// (pool, open connections, idle connections).
    pub pools: Vec<(&'static str, u32, usize)>,
    pub redis_up: bool,
    /// Log rows waiting for the writer.
    pub log_queue: usize,
    /// The ledger's figures, by name (empty for an instance alone on its database).
    pub ledger: Vec<(&'static str, i64)>,
}

fn millis_to_secs(ms: i64) -> f64 {
    // Latencies are far below 2^53 ms, where the conversion is exact.
    #[expect(clippy::cast_precision_loss, reason = "milliseconds well below 2^53")]
    let ms = ms.max(0) as f64;
    ms / 1000.0
}

/// Counts one open stream while it lives.
pub struct OpenStream(Gauge);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}
