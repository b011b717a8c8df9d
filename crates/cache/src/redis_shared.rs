//! Redis-backed fixed-window counters (two Lua scripts: admit a request with an amount, correct the amount
//! afterwards), remembered values (`SET … PX` / `GET`) and change notices over pub/sub.
//!
//! Commands go through a `ConnectionManager`, which reconnects by itself after Redis restarts; every call is also
//! bounded by [`CALL_TIMEOUT`], so while Redis is away a request waits at most that long before the caller fails
//! open, instead of queueing behind the reconnect attempts.

use crate::{Ask, CacheError, Feed};
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// The longest a request waits on Redis; Redis answers in well under a millisecond when it is up.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// Admits a request when the window's count is below the limit (ARGV[3]), counting ARGV[2] for it.
const ADMIT_SCRIPT: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if n >= tonumber(ARGV[3]) then return {0, ttl} end
redis.call('INCRBY', KEYS[1], ARGV[2])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {1, ttl}
";

/// Corrects a window's count by ARGV[1] (signed) if the window still exists, never below 0.
const CORRECT_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  if tonumber(ARGV[1]) < 0 then return 0 end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return tonumber(ARGV[1])
end
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n < 0 then redis.call('INCRBY', KEYS[1], -n); n = 0 end
return n
";

pub struct RedisShared {
    client: redis::Client,
    conn: ConnectionManager,
    admit: redis::Script,
    correct: redis::Script,
    namespace: String,
}

/// `call` bounded by [`CALL_TIMEOUT`].
async fn bounded<T>(
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, CacheError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(CacheError::Timeout(CALL_TIMEOUT)),
    }
}

impl RedisShared {
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(2)
            .set_max_delay(500);
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self {
            client,
            conn,
            admit: redis::Script::new(ADMIT_SCRIPT),
            correct: redis::Script::new(CORRECT_SCRIPT),
            namespace: namespace.to_owned(),
        })
    }

    fn channel(&self, feed: Feed) -> String {
        format!("tollgate:{}:{}", self.namespace, feed.name())
    }

    pub async fn add(&self, key: &str, delta: i64, window: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.correct.key(self.counter(key));
        invocation.arg(delta).arg(window_ms);
        bounded(invocation.invoke_async::<i64>(&mut conn)).await?;
        Ok(())
    }

    pub async fn admit(&self, key: &str, ask: Ask) -> Result<Result<(), Duration>, CacheError> {
        let mut conn = self.conn.clone();
        let window_ms = u64::try_from(ask.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut invocation = self.admit.key(self.counter(key));
        invocation.arg(window_ms).arg(ask.amount).arg(ask.limit);
        let (admitted, ttl_ms): (i64, i64) = bounded(invocation.invoke_async(&mut conn)).await?;
        if admitted == 0 {
            let ttl = Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
            return Ok(Err(ttl.max(Duration::from_secs(1))));
        }
        Ok(Ok(()))
    }

    pub async fn remember(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.value_key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms);
        bounded(cmd.query_async::<()>(&mut conn)).await
    }

    pub async fn recall(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.value_key(key));
        bounded(cmd.query_async::<Option<String>>(&mut conn)).await
    }

    fn value_key(&self, key: &str) -> String {
        format!("tollgate:{}:kv:{key}", self.namespace)
    }

    fn counter(&self, key: &str) -> String {
        format!("tollgate:{}:rl:{key}", self.namespace)
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        bounded(redis::cmd("PING").query_async::<String>(&mut conn)).await?;
        Ok(())
    }

    /// Publishes `body` on `feed` as instance `from` (a name without spaces).
    pub async fn publish(&self, feed: Feed, from: &str, body: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(self.channel(feed)).arg(format!("{from} {body}"));
        bounded(cmd.query_async::<i64>(&mut conn)).await?;
        Ok(())
    }

    /// One subscription to `feed`: runs `on_message` once with an empty body on subscribing (something may have
    /// been said while nobody listened), then with the body of every message published by an instance other than
    /// `me`. Ends with the connection.
    pub async fn session<Fut: std::future::Future<Output = ()>>(
        &self,
        feed: Feed,
        me: &str,
        on_message: &impl Fn(String) -> Fut,
    ) -> Result<(), CacheError> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(self.channel(feed)).await?;
        on_message(String::new()).await;
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let payload: String = msg.get_payload().unwrap_or_default();
            let (from, body) = payload.split_once(' ').unwrap_or((payload.as_str(), ""));
            if from != me {
                on_message(body.to_owned()).await;
            }
        }
        Ok(())
    }
}
