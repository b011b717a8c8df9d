//! In-process fixed-window counters, for a single instance without Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct LocalShared {
    windows: Mutex<HashMap<String, (Instant, u64)>>,
}

impl LocalShared {
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

    pub fn admit(
        &self,
        key: &str,
        amount: u64,
        limit: u64,
        window: Duration,
    ) -> Result<(), Duration> {
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

    #[test]
    fn limits_per_key_and_window() {
        let l = LocalShared::default();
        let admits = |key, limit, window| l.admit(key, 1, limit, window).is_ok();
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
        let admits = |key, amount, limit| l.admit(key, amount, limit, w).is_ok();
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
