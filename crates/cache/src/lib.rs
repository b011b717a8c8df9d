//! State shared by every instance of a deployment: fixed-window rate counters and "the catalog changed" notices.
//! With Redis (`REDIS_URL`) they hold across instances; without it, one instance keeps the same behaviour in
//! memory. Money never lives here — reservations are database transactions, atomic across instances already.
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
        match self {
            Self::Local(l) => l.admit(key, amount, limit, window),
            Self::Redis(r) => match r.admit(key, amount, limit, window).await {
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

    /// Tells the other instances that the catalog changed.
    pub async fn announce_change(&self, from: &str) {
        if let Self::Redis(r) = self
            && let Err(e) = r.publish(from).await
        {
            tracing::warn!(error = %e, "cannot announce a catalog change; other instances reload on their next change");
        }
    }

    /// Runs `on_change` for every change announced by *another* instance, until `stop` resolves. Reconnects on its
    /// own. Without Redis there is nobody else, and it just waits for `stop`.
    pub async fn follow_changes<F, Fut>(
        &self,
        me: &str,
        on_change: F,
        stop: impl std::future::Future<Output = ()>,
    ) where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let Self::Redis(r) = self else {
            return stop.await;
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                result = r.session(me, &on_change) => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "catalog change feed lost; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                () = &mut stop => return,
            }
        }
    }
}
