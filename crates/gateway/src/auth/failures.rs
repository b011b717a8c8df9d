//! Failed key attempts per client IP per minute; past the limit the IP gets 429 before any key lookup, which makes
//! guessing keys pointless. Fixed one-minute windows, in memory (one instance; shared limits come with Redis).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub struct AuthFailureLimiter {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AuthFailureLimiter {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(retry_after)` when this IP is over the limit.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let map = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, count) = map.get(&ip)?;
        let age = start.elapsed();
        (age < WINDOW && *count >= self.limit).then(|| WINDOW.saturating_sub(age))
    }

    pub fn record_failure(&self, ip: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let mut map = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| start.elapsed() < WINDOW); // bound memory under a spray of addresses
        }
        let entry = map.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit() {
        let l = AuthFailureLimiter::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.blocked(ip).is_none());
        l.record_failure(ip);
        assert!(l.blocked(ip).is_none());
        l.record_failure(ip);
        assert!(l.blocked(ip).is_some());
        assert!(l.blocked("10.0.0.2".parse().unwrap()).is_none());
    }
}
