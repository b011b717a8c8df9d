//! `AppState`: everything a handler needs, cheap to clone (one `Arc`).

use crate::auth::admin::AdminAuth;
use crate::auth::failures::AuthFailureLimiter;
use crate::catalog::Catalog;
use crate::config::Settings;
use crate::logs::LogSink;
use std::ops::Deref;
use std::sync::Arc;
use store::Store;
use tokio_util::task::TaskTracker;

pub struct Inner {
    pub settings: Settings,
    pub store: Store,
    pub catalog: Catalog,
    /// One pooled client for every upstream call.
    pub http: reqwest::Client,
    /// Downloads client-supplied images for providers that need them inline (private addresses refused).
    pub media: providers::media::MediaFetcher,
    /// Signs and checks the `/mj/image/{id}` links.
    pub mj_signer: crate::midjourney::sign::ImageSigner,
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
    pub shared: cache::Shared,
    /// This process's id in change notices (so it ignores its own).
    pub instance_id: String,
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

    /// The key's requests- and tokens-per-minute limits (its own, else its group's), counted across every instance.
    /// Counts the request against its key's requests-per-minute window and admits it into the tokens-per-minute
    /// window with `tokens` (its estimate: prompt, plus `max_tokens` when given), so requests running at the same
    /// time see each other's tokens; [`Self::settle_tokens`] corrects the estimate after the answer. Returns the
    /// tokens admitted, or `None` when no tokens-per-minute limit applies (then there is nothing to correct).
    pub async fn check_rate_limits(
        &self,
        key: &store::ApiKey,
        group: &str,
        tokens: u64,
    ) -> Result<Option<u64>, crate::error::ApiError> {
        let (group_rpm, group_tpm) = self.catalog.snapshot().group_limits(group);
        if let Some(limit) = key.rpm_limit.or(group_rpm) {
            let per_minute = u64::try_from(limit).unwrap_or(0);
            self.shared
                .admit(&format!("rpm:{}", key.id), 1, per_minute, MINUTE)
                .await
                .map_err(|retry_after| crate::error::ApiError::RateLimited {
                    limit,
                    retry_after,
                })?;
        }
        let Some(limit) = key.tpm_limit.or(group_tpm) else {
            return Ok(None);
        };
        let per_minute = u64::try_from(limit).unwrap_or(0);
        self.shared
            .admit(&format!("tpm:{}", key.id), tokens, per_minute, MINUTE)
            .await
            .map_err(|retry_after| crate::error::ApiError::TokenRateLimited {
                limit,
                retry_after,
            })?;
        Ok(Some(tokens))
    }

    /// Replaces the tokens a request was admitted with (its estimate) by the tokens it really used, in its key's
    /// tokens-per-minute window. A request that failed used none.
    pub async fn settle_tokens(&self, key_id: i64, admitted: Option<u64>, used: u64) {
        let Some(admitted) = admitted else { return };
        let delta = i64::try_from(used)
            .unwrap_or(i64::MAX)
            .saturating_sub(i64::try_from(admitted).unwrap_or(i64::MAX));
        if delta != 0 {
            self.shared
                .add(&format!("tpm:{key_id}"), delta, MINUTE)
                .await;
        }
    }
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The upstream HTTP client: connect timeout from the settings; first-byte and idle timeouts are applied per call;
/// redirects are not followed.
pub fn upstream_client(settings: &Settings) -> Result<reqwest::Client, reqwest::Error> {
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
