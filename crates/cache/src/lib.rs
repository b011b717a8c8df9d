//! State shared by every instance of a deployment: fixed-window rate counters, notices between instances
//! ("the catalog changed", and the budget-slice hand-overs of the gateway's ledger), and short-lived remembered
//! values (`remember` / `recall`: what one instance answered that another may need to finish a conversation). With Redis (`REDIS_URL`) they
//! hold across instances; without it, one instance keeps the same behaviour in memory. Money never lives here —
//! what each instance may spend is a claim in the database (the gateway's budget slices).
//!
//! Redis failures fail open (the request is allowed, a warning is logged): a rate limiter must not turn a Redis
//! outage into a gateway outage.

mod local;
mod redis_shared;

use std::time::Duration;

pub use local::LocalShared;
pub use redis_shared::RedisShared;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// A pub/sub feed between the instances of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// "The catalog changed": reload it.
    Catalog,
    /// The ledger's budget-slice hand-overs (asks and answers; the gateway defines the bodies).
    Ledger,
}

impl Feed {
    fn name(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Ledger => "ledger",
        }
    }
}

/// One admission asked of a rate counter: count `amount` for it, unless the counter already reached `limit` in
/// the current fixed `window`. The one description of [`Shared::admit`]'s request, which both backends take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub amount: u64,
    pub limit: u64,
    pub window: Duration,
}

pub enum Shared {
    Local(LocalShared),
    Redis(Box<RedisShared>),
}

impl Shared {
    /// `namespace` keeps deployments (databases) that share one Redis apart.
    pub async fn connect(redis_url: Option<&str>, namespace: &str) -> Result<Self, CacheError> {
        Ok(match redis_url {
            Some(url) => Self::Redis(Box::new(RedisShared::connect(url, namespace).await?)),
            None => Self::Local(LocalShared::default()),
        })
    }

    /// Corrects `key`'s counter in the current window by `delta` (e.g. tokens used minus tokens admitted).
    pub async fn add(&self, key: &str, delta: i64, window: Duration) {
        match self {
            Self::Local(l) => l.add(key, delta, window),
            Self::Redis(r) => {
                if let Err(e) = r.add(key, delta, window).await {
                    tracing::warn!(error = %e, "rate counter unavailable; usage not counted");
                }
            }
        }
    }

    /// Admits one request when `key`'s counter is still below `limit` in the current window, counting `amount`
    /// for it at once (so requests admitted together see each other); `Err(retry_after)` otherwise.
    pub async fn admit(
        &self,
        key: &str,
        amount: u64,
        limit: u64,
        window: Duration,
    ) -> Result<(), Duration> {
        let ask = Ask {
            amount,
            limit,
            window,
        };
        match self {
            Self::Local(l) => l.admit(key, ask),
            Self::Redis(r) => match r.admit(key, ask).await {
                Ok(result) => result,
                Err(e) => {
                    tracing::warn!(error = %e, "rate counter unavailable; allowing the request");
                    Ok(())
                }
            },
        }
    }

    /// Whether the shared state answers: always without Redis; with it, a `PING` within the call timeout.
    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            Self::Local(_) => Ok(()),
            Self::Redis(r) => r.ping().await,
        }
    }

    pub fn is_redis(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    /// Keeps `value` under `key` for `ttl`: in Redis (`SET … PX`), else in a bounded map in memory. What is kept
    /// here may be lost (Redis away, the map full): callers treat it as a cache.
    pub async fn remember(&self, key: &str, value: &str, ttl: Duration) {
        match self {
            Self::Local(l) => l.remember(key, value, ttl),
            Self::Redis(r) => {
                if let Err(e) = r.remember(key, value, ttl).await {
                    tracing::warn!(error = %e, "cannot keep a value in Redis");
                }
            }
        }
    }

    /// What [`Self::remember`] kept under `key`, if it is still there.
    pub async fn recall(&self, key: &str) -> Option<String> {
        match self {
            Self::Local(l) => l.recall(key),
            Self::Redis(r) => r.recall(key).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read a value from Redis");
                None
            }),
        }
    }

    /// Tells the other instances that the catalog changed.
    pub async fn announce_change(&self, from: &str) {
        self.announce(Feed::Catalog, from, "").await;
    }

    /// Publishes `body` on `feed` for the other instances; without Redis there is nobody to tell. A failure is
    /// logged, not returned: every feed's listeners also catch up by themselves (the catalog on its next change,
    /// the ledger when a slice expires).
    pub async fn announce(&self, feed: Feed, from: &str, body: &str) {
        if let Self::Redis(r) = self
            && let Err(e) = r.publish(feed, from, body).await
        {
            tracing::warn!(error = %e, feed = feed.name(), "cannot reach the other instances");
        }
    }

    /// Runs `on_change` for every change announced by *another* instance, until `stop` resolves.
    pub async fn follow_changes<F, Fut>(
        &self,
        me: &str,
        on_change: F,
        stop: impl std::future::Future<Output = ()>,
    ) where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        self.follow(Feed::Catalog, me, |_| on_change(), stop).await;
    }

    /// Runs `on_message` with the body of every message another instance publishes on `feed` (and once with an
    /// empty body on each (re)subscription), until `stop` resolves. Reconnects on its own. Without Redis there is
    /// nobody else, and it just waits for `stop`.
    pub async fn follow<F, Fut>(
        &self,
        feed: Feed,
        me: &str,
        on_message: F,
        stop: impl std::future::Future<Output = ()>,
    ) where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let Self::Redis(r) = self else {
            return stop.await;
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                result = r.session(feed, me, &on_message) => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, feed = feed.name(), "feed lost; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                () = &mut stop => return,
            }
        }
    }
}
