//! `AppState`: everything a handler needs, cheap to clone (one `Arc`).

use crate::auth::admin::AdminAuth;
use crate::auth::failures::AuthFailureLimiter;
use crate::billing::LogSink;
use crate::catalog::Catalog;
use crate::config::Settings;
use crate::error::ApiError;
use crate::http::body::read_limited;
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use std::ops::Deref;
use std::sync::Arc;
use store::Store;
use tokio_util::task::TaskTracker;

pub struct Inner {
    pub settings: Settings,
    pub store: Store,
    pub catalog: Catalog,
    /// One pooled client for every upstream call (`providers::client`).
    pub upstream: providers::client::UpstreamClient,
    /// The image proxy's client for a task's own channel origin (reqwest: per-request timeouts, no redirects).
    pub http: reqwest::Client,
    /// Downloads client-supplied images for providers that need them inline (private addresses refused).
    pub media: providers::media::MediaFetcher,
    /// Signs and checks the `/mj/image/{id}` links.
    pub mj_signer: crate::auth::image_links::ImageSigner,
    /// Signs dashboard session cookies and their CSRF tokens.
    pub sessions: crate::auth::session::SessionKeys,
    pub logs: LogSink,
    /// Prometheus counters and gauges (`/metrics`).
    pub metrics: Arc<crate::observe::metrics::Metrics>,
    /// Where requests' money is held while they run (in memory when alone, else in the database).
    pub ledger: Arc<crate::billing::ledger::QuotaLedger>,
    /// Settlement and other after-response work; shutdown waits for it.
    pub tasks: TaskTracker,
    pub admin: AdminAuth,
    pub auth_failures: AuthFailureLimiter,
    /// Login and registration throttles, and the permits every password hash runs under.
    pub logins: crate::auth::login_throttle::LoginGuards,
    /// Rate counters and catalog-change notices, shared across instances through Redis when configured.
    pub shared: Arc<cache::Shared>,
    /// The settlement side of the above (writer, tasks, shared windows, metrics), one `Arc` for each request.
    pub books: Arc<crate::billing::settle::Books>,
    /// This process's id in change notices (so it ignores its own).
    pub instance_id: String,
    /// Cancelled once the server stops accepting: long-lived sessions (realtime WebSockets, which the connection
    /// drain does not cover) end, so their settlements reach the task tracker before shutdown waits for it.
    pub closing: tokio_util::sync::CancellationToken,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Reloads the catalog after a write and tells the other instances to do the same; a failure is logged and the
    /// old snapshot stays (the next write retries).
    pub async fn refresh_catalog(&self) {
        self.reload_catalog().await;
        // The change may have moved money (balance, top-up, cap): an in-memory ledger re-reads its accounts.
        self.logs.rebase_ledger().await;
        self.shared.announce_change(&self.instance_id).await;
    }

    /// Reloads the catalog (after another instance announced a change).
    pub async fn reload_catalog(&self) {
        if let Err(e) = self.catalog.reload(&self.store).await {
            tracing::error!(error = %e, "reloading the catalog failed");
        }
    }

    /// Reads a client's request body within the configured size and time limits (`max_body_bytes`,
    /// `client_body_timeout`).
    pub async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
        let settings = &self.settings;
        read_limited(
            headers,
            body,
            settings.max_body_bytes,
            settings.client_body_timeout,
        )
        .await
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The upstream client: connect timeout from the settings; first-byte and idle timeouts are applied per call;
/// redirects are not followed.
pub fn upstream_client(settings: &Settings) -> Result<providers::client::UpstreamClient, String> {
    providers::client::UpstreamClient::new(settings.upstream_connect_timeout)
}

/// The image proxy's client for a channel's own origin: the same timeouts and no redirects.
pub fn image_proxy_client(settings: &Settings) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(settings.upstream_connect_timeout)
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .tcp_nodelay(true)
        // An API answers where it is asked; following redirects would also re-parse every request's URL (perf).
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

pub fn media_fetcher(
    settings: &Settings,
) -> Result<providers::media::MediaFetcher, reqwest::Error> {
    providers::media::MediaFetcher::new(providers::media::MediaPolicy {
        allow_private: settings.allow_private_image_urls,
        max_bytes: settings.image_max_bytes,
        timeout: settings.image_timeout,
    })
}
