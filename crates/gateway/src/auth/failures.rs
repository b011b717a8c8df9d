//! Failed credential attempts (API keys, the admin token) per client address per minute: past the limit, further
//! *failures* from that address get 429. Callers check the credential first and serve a valid one whatever the
//! counter says — keys carry ~285 random bits, so the counter is there against floods and noise, not guessing,
//! and must not lock out every customer behind one NAT or proxy.
//!
//! IPv6 clients are counted per /64 (one subscriber's prefix: otherwise each failure could come from a fresh
//! address); IPv4 per address. Fixed one-minute windows, in memory (one instance; shared limits come with Redis).
//!
//! Bounded: the counters live in `SHARDS` maps behind their own locks, each holding at most `PER_SHARD`
//! addresses — `SHARDS * PER_SHARD` (65 536) in all. A shard starts over (drops its map) when its window ends,
//! without scanning it. Addresses arriving at a full shard share that shard's one overflow counter, so spraying
//! addresses gets them limited together instead of growing the map (a valid key is still served from them).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
const SHARDS: usize = 16;
const PER_SHARD: usize = 4096;

/// What is counted: an IPv4 address or an IPv6 /64 prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    V4([u8; 4]),
    V6Prefix(u64),
}

impl Subject {
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => Self::V6Prefix(prefix64(v6)),
        }
    }
}

fn prefix64(v6: Ipv6Addr) -> u64 {
    u64::try_from(v6.to_bits() >> 64).unwrap_or(u64::MAX)
}

/// One shard's window: its start, the counts of the addresses it tracks, and the overflow counter.
struct Window {
    started: Instant,
    counts: HashMap<Subject, u32>,
    overflow: u32,
}

impl Window {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            counts: HashMap::new(),
            overflow: 0,
        }
    }

    /// Starts a new window when this one is over.
    fn roll(&mut self) {
        if self.started.elapsed() >= WINDOW {
            *self = Self::new();
        }
    }

    fn count(&self, subject: Subject) -> u32 {
        match self.counts.get(&subject) {
            Some(n) => *n,
            None if self.counts.len() >= PER_SHARD => self.overflow,
            None => 0,
        }
    }

    fn add(&mut self, subject: Subject) {
        let full = self.counts.len() >= PER_SHARD;
        match self.counts.get_mut(&subject) {
            Some(n) => *n = n.saturating_add(1),
            None if full => self.overflow = self.overflow.saturating_add(1),
            None => {
                self.counts.insert(subject, 1);
            }
        }
    }
}

pub struct AuthFailureLimiter {
    limit: u32,
    hasher: RandomState,
    shards: Vec<Mutex<Window>>,
}

impl AuthFailureLimiter {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Window::new())).collect(),
        }
    }

    fn with_shard<T>(&self, subject: Subject, f: impl FnOnce(&mut Window) -> T) -> Option<T> {
        let index = usize::try_from(self.hasher.hash_one(subject) % SHARDS as u64).ok()?;
        let mut window = self
            .shards
            .get(index)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        window.roll();
        Some(f(&mut window))
    }

    /// `Some(retry_after)` when this address is over the limit: refuse its next failure with 429.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let subject = Subject::of(ip);
        self.with_shard(subject, |w| {
            (w.count(subject) >= self.limit).then(|| WINDOW.saturating_sub(w.started.elapsed()))
        })
        .flatten()
    }

    pub fn record_failure(&self, ip: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let subject = Subject::of(ip);
        self.with_shard(subject, |w| w.add(subject));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_ip as ip;

    #[test]
    fn blocks_after_limit() {
        let l = AuthFailureLimiter::new(2);
        assert!(l.blocked(ip("10.0.0.1")).is_none());
        l.record_failure(ip("10.0.0.1"));
        assert!(l.blocked(ip("10.0.0.1")).is_none());
        l.record_failure(ip("10.0.0.1"));
        assert!(l.blocked(ip("10.0.0.1")).is_some());
        assert!(l.blocked(ip("10.0.0.2")).is_none());
        // The same address written as IPv4-mapped IPv6 is the same client.
        assert!(l.blocked(ip("::ffff:10.0.0.1")).is_some());
    }

    #[test]
    fn ipv6_is_counted_per_64() {
        let l = AuthFailureLimiter::new(2);
        l.record_failure(ip("2001:db8:1:2::1"));
        l.record_failure(ip("2001:db8:1:2:ffff::9"));
        assert!(l.blocked(ip("2001:db8:1:2::77")).is_some());
        assert!(l.blocked(ip("2001:db8:1:3::1")).is_none());
    }

    #[test]
    fn a_full_shard_counts_newcomers_together_and_stays_bounded() {
        let l = AuthFailureLimiter::new(3);
        for i in 0..u32::try_from(SHARDS * PER_SHARD * 2).unwrap() {
            l.record_failure(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
        }
        for shard in &l.shards {
            assert!(shard.lock().unwrap().counts.len() <= PER_SHARD);
        }
        // A fresh address lands in a full shard: the overflow counter is far over the limit.
        assert!(l.blocked(ip("192.0.2.1")).is_some());
    }
}
