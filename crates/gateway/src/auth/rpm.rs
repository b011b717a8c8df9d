//! Per-key requests-per-minute limit (`rpm_limit`), a fixed one-minute window in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct RpmLimiter {
    windows: Mutex<HashMap<i64, (Instant, i64)>>,
}

impl RpmLimiter {
    /// Counts one request; `Err(retry_after)` if the key is over its limit.
    pub fn check(&self, key_id: i64, limit: i64) -> Result<(), Duration> {
        let mut map = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(key_id).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= limit {
            return Err(WINDOW.saturating_sub(entry.0.elapsed()));
        }
        entry.1 += 1;
        Ok(())
    }
}
