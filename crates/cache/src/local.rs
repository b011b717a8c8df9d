//! In-process fixed-window counters, for a single instance without Redis.

use crate::Ask;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values [`LocalShared::remember`] keeps at most; past it, expired ones go and then new ones are dropped.
const MAX_REMEMBERED: usize = 10_000;

#[derive(Default)]
pub struct LocalShared {
    windows: Mutex<HashMap<String, (Instant, u64)>>,
    /// Remembered values with their expiry.
    values: Mutex<HashMap<String, (Instant, String)>>,
}

impl LocalShared {
    pub fn remember(&self, key: &str, value: &str, ttl: Duration) {
        let mut map = self
            .values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_REMEMBERED {
            let now = Instant::now();
            map.retain(|_, (expires, _)| *expires > now);
        }
        if map.len() < MAX_REMEMBERED || map.contains_key(key) {
            map.insert(key.to_owned(), (Instant::now() + ttl, value.to_owned()));
        }
    }

    pub fn recall(&self, key: &str) -> Option<String> {
        let map = self
            .values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, v)| v.clone())
    }

    /// Corrects `key`'s counter by `delta` (never below 0). A negative correction meant for a window that has
    /// since ended is dropped rather than credited to the new one.
    pub fn add(&self, key: &str, delta: i64, window: Duration) {
        let mut map = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= window {
            if delta < 0 {
                return;
            }
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add_signed(delta);
    }

    pub fn admit(&self, key: &str, ask: Ask) -> Result<(), Duration> {
        let Ask {
            amount,
            limit,
            window,
        } = ask;
        let mut map = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= window {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= limit {
            return Err(window
                .saturating_sub(entry.0.elapsed())
                .max(Duration::from_secs(1)));
        }
        entry.1 = entry.1.saturating_add(amount);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(l: &LocalShared, key: &str, amount: u64, limit: u64, window: Duration) -> bool {
        let ask = Ask {
            amount,
            limit,
            window,
        };
        l.admit(key, ask).is_ok()
    }

    #[test]
    fn remembered_values_expire_and_the_map_stays_bounded() {
        let l = LocalShared::default();
        l.remember("a", "1", Duration::from_secs(60));
        l.remember("gone", "2", Duration::ZERO);
        assert_eq!(l.recall("a").as_deref(), Some("1"));
        assert_eq!(l.recall("gone"), None);
        for i in 0..MAX_REMEMBERED + 5 {
            l.remember(&format!("k{i}"), "v", Duration::from_secs(60));
        }
        assert!(l.values.lock().unwrap().len() <= MAX_REMEMBERED);
        assert_eq!(l.recall("a").as_deref(), Some("1"));
    }

    #[test]
    fn limits_per_key_and_window() {
        let l = LocalShared::default();
        let admits = |key, limit, window| admitted(&l, key, 1, limit, window);
        let w = Duration::from_secs(60);
        assert!(admits("a", 2, w));
        assert!(admits("a", 2, w));
        assert!(!admits("a", 2, w), "the third of two");
        assert!(admits("b", 2, w), "another key");
        let short = Duration::from_millis(50);
        assert!(admits("c", 1, short));
        assert!(!admits("c", 1, short));
        std::thread::sleep(Duration::from_millis(60));
        assert!(admits("c", 1, short), "a new window");
    }

    #[test]
    fn admission_counts_the_estimate_and_corrections_adjust_it() {
        let l = LocalShared::default();
        let w = Duration::from_secs(60);
        let admits = |key, amount, limit| admitted(&l, key, amount, limit, w);
        for _ in 0..3 {
            assert!(admits("t", 40, 100), "at most 80 < 100 before: admitted");
        }
        assert!(!admits("t", 1, 100), "120 counted");
        l.add("t", -30, w);
        assert!(admits("t", 1, 100), "the answers used less");
        l.add("u", -5, w);
        assert!(admits("u", 0, 1), "never below zero");
    }
}
