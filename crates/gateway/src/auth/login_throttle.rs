//! Dashboard logins and registrations, throttled before any password is hashed:
//! - [`LoginThrottle`]: failed logins per (account, client address). Every attempt counts as a failure the moment
//!   it starts (a success clears it), so a burst cannot run argon2 many times before the first failure is seen.
//!   Past a few free failures each one doubles the wait. Keyed by the pair, so an attacker hammering an account
//!   from their address delays only themselves: the owner logging in from theirs is untouched.
//! - [`RegistrationLimit`]: registrations per client address per hour.
//!
//! Both live in memory (one instance; a guess spread over instances is still slowed by argon2 and the per-address
//! failed-auth limit) in a [`Generations`] map, which holds at most a fixed number of entries without ever
//! scanning them. IPv6 addresses count per /64, since one client usually holds a whole /64.

use std::collections::{HashMap, hash_map};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries each generation holds before it becomes the old one (so at most twice this many are kept).
const GENERATION: usize = 50_000;
/// Failures that cost no wait (typos).
const FREE_FAILURES: u32 = 3;
/// The wait after the first failure past the free ones; each further failure doubles it.
const BASE_DELAY: Duration = Duration::from_secs(2);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A pair that has not failed for this long starts over.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Registrations per address per window.
const REGISTRATIONS: u32 = 5;
const REGISTRATION_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Which credential a login tries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Account {
    AdminToken,
    User(String),
}

/// The address a counter is kept for: the address itself, or its /64 for IPv6.
fn counter_addr(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// A map bounded without scans: new entries go into the young generation; when it is full it becomes the old
/// one (dropping the previous old one). An entry read from the old generation moves back into the young one.
struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
    cap: usize,
}

impl<K: Hash + Eq, V> Generations<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            young: HashMap::new(),
            old: HashMap::new(),
            cap,
        }
    }

    fn entry(&mut self, key: K, fresh: impl FnOnce() -> V) -> &mut V {
        if self.young.len() >= self.cap && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        match self.young.entry(key) {
            hash_map::Entry::Occupied(o) => o.into_mut(),
            hash_map::Entry::Vacant(v) => {
                let value = self.old.remove(v.key()).unwrap_or_else(fresh);
                v.insert(value)
            }
        }
    }

    fn remove(&mut self, key: &K) {
        self.young.remove(key);
        self.old.remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One (account, address) pair's failures.
struct Failures {
    count: u32,
    last: Instant,
    next_allowed: Instant,
}

fn delay(failures: u32) -> Duration {
    let Some(past_free) = failures.checked_sub(FREE_FAILURES) else {
        return Duration::ZERO;
    };
    BASE_DELAY
        .saturating_mul(1u32 << past_free.min(20))
        .min(MAX_DELAY)
}

/// What stands between a login or registration and argon2: the throttles and the hashing permits.
pub struct LoginGuards {
    pub failures: LoginThrottle,
    pub registrations: RegistrationLimit,
    pub passwords: crate::auth::password::PasswordWork,
}

impl LoginGuards {
    pub fn start() -> std::io::Result<Self> {
        Ok(Self {
            failures: LoginThrottle::default(),
            registrations: RegistrationLimit::default(),
            passwords: crate::auth::password::PasswordWork::start()?,
        })
    }
}

/// Failed logins per (account, client address), counted before the password is checked.
pub struct LoginThrottle {
    pairs: Mutex<Generations<(Account, IpAddr), Failures>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            pairs: Mutex::new(Generations::new(GENERATION)),
        }
    }
}

impl LoginThrottle {
    /// Starts an attempt: `Err(retry_after)` while the pair must wait; otherwise the attempt is counted as a
    /// failure until [`Self::succeeded`] clears it.
    pub fn begin(&self, account: &Account, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut pairs = lock(&self.pairs);
        let f = pairs.entry((account.clone(), counter_addr(ip)), || Failures {
            count: 0,
            last: now,
            next_allowed: now,
        });
        if now.duration_since(f.last) >= FORGET_AFTER {
            f.count = 0;
        }
        if now < f.next_allowed {
            return Err(f.next_allowed - now);
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        f.next_allowed = now + delay(f.count);
        Ok(())
    }

    /// The password was right: the pair starts over.
    pub fn succeeded(&self, account: &Account, ip: IpAddr) {
        lock(&self.pairs).remove(&(account.clone(), counter_addr(ip)));
    }
}

/// Registrations per client address, in fixed windows.
pub struct RegistrationLimit {
    windows: Mutex<Generations<IpAddr, (Instant, u32)>>,
}

impl Default for RegistrationLimit {
    fn default() -> Self {
        Self {
            windows: Mutex::new(Generations::new(GENERATION)),
        }
    }
}

impl RegistrationLimit {
    /// Counts one registration attempt; `Err(retry_after)` when the address has used up its window.
    pub fn admit(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = lock(&self.windows);
        let (start, count) = windows.entry(counter_addr(ip), || (now, 0));
        let age = now.duration_since(*start);
        if age >= REGISTRATION_WINDOW {
            (*start, *count) = (now, 0);
        } else if *count >= REGISTRATIONS {
            return Err(REGISTRATION_WINDOW - age);
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_ip as ip;

    #[test]
    fn failures_wait_longer_each_time_per_pair() {
        let t = LoginThrottle::default();
        let bob = Account::User("bob".into());
        for _ in 0..FREE_FAILURES {
            assert!(t.begin(&bob, ip("10.0.0.1")).is_ok());
        }
        let wait = t.begin(&bob, ip("10.0.0.1")).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= BASE_DELAY);
        assert!(t.begin(&bob, ip("10.0.0.2")).is_ok(), "another address");
        assert!(
            t.begin(&Account::AdminToken, ip("10.0.0.1")).is_ok(),
            "another account"
        );
        t.succeeded(&bob, ip("10.0.0.1"));
        assert!(t.begin(&bob, ip("10.0.0.1")).is_ok(), "a success clears");
        assert_eq!(delay(FREE_FAILURES + 2), BASE_DELAY * 4);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn ipv6_counts_per_64() {
        let t = LoginThrottle::default();
        let bob = Account::User("bob".into());
        for i in 0..FREE_FAILURES {
            assert!(t.begin(&bob, ip(&format!("2001:db8::{i}"))).is_ok());
        }
        assert!(t.begin(&bob, ip("2001:db8::ffff")).is_err());
        assert!(t.begin(&bob, ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn registrations_per_address() {
        let r = RegistrationLimit::default();
        for _ in 0..REGISTRATIONS {
            assert!(r.admit(ip("10.0.0.1")).is_ok());
        }
        assert!(r.admit(ip("10.0.0.1")).is_err());
        assert!(r.admit(ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn the_map_stays_bounded_and_keeps_recent_entries() {
        let mut g = Generations::new(4);
        for i in 0..100 {
            *g.entry(i, || 0) += 1;
            assert!(g.len() <= 8);
        }
        *g.entry(99, || 0) += 1;
        assert_eq!(*g.entry(99, || 0), 2, "a recent entry survives");
    }
}
