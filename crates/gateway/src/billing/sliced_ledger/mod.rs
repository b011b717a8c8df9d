//! `SlicedLedger`: holds in memory against budget slices, for instances that share a database (decision 0013).
//!
//! Each instance claims a slice of an account's money in the database (`store::Store::grow_slices`) and holds and
//! settles requests against it in memory, exactly as the lone instance's [`super::memory_ledger`] does against the
//! whole account. Per account (a user's balance, a key's cap) it keeps:
//!
//! * `granted`: its slice in the database, as far as it has told the database (a commit lowers both by the charge);
//! * `reserved`: held by requests in flight; `pending`: charged here, not committed yet;
//! * the surplus `granted - reserved - pending`, what the next requests may hold without asking anyone.
//!
//! A request that does not fit the surplus grows the slices (one transaction, one at a time per user), by what it
//! needs plus about a second of the account's recent holds, never past what is free. When even that is short and
//! other instances hold slices of the account, it asks them over Redis to hand their surplus back and tries again
//! (a few rounds of at most [`HANDOVER_WAIT`]); both sides then serve that account without surplus for a while, so
//! an account with little money is divided request by request. So a hold is limited by the account's money, not by
//! which instance serves it.
//!
//! Slices live [`SLICE_TTL`] in the database and are renewed every [`RENEW_EVERY`]; this instance spends from a
//! slice only for [`TRUST_FOR`] after the database last confirmed it, well inside the TTL, so a stalled or cut-off
//! instance stops spending before anyone else may take its slice. A killed instance's slices lapse after the TTL
//! and are simply not counted any more: a slice is a claim, not a debit, so nothing is returned and no money is
//! created or lost. Money changed outside the ledger (an operator's top-up, balance or cap edit, a refund) makes
//! every slice stale: its surplus is given back before the account's next hold, which then reads the new figures.
//!
//! The database half of growing or giving back runs in a task of its own and changes this side only with it (a
//! give-back takes the surplus out first and puts it back if the database refuses), so the slice here and the
//! slice in the database never disagree because a client went away in the middle.

mod message;
mod slice;

use super::ledger::Hold;
use cache::{Feed, Shared};
use message::Message;
use slice::Slice;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use store::{Grant, QuotaShortfall, Reservation, SliceAccount, Store, StoreError, Want};
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

/// How long a slice lives in the database without renewal; after that, other instances no longer count it.
pub const SLICE_TTL: Duration = Duration::from_secs(5);
/// How often this instance renews its slices.
pub const RENEW_EVERY: Duration = Duration::from_millis(500);
/// How long after the database last confirmed a slice this instance still spends from it. The margin to
/// [`SLICE_TTL`] absorbs clock differences between instances and a stalled renewal.
pub const TRUST_FOR: Duration = Duration::from_secs(2);
/// A slice with no hold for this long gives its surplus back.
const IDLE: Duration = Duration::from_secs(10);
/// After a hand-over was asked for an account, it is served without surplus for this long.
const LEAN_FOR: Duration = Duration::from_secs(5);
/// How long one hand-over round waits for another instance to give something back.
const HANDOVER_WAIT: Duration = Duration::from_millis(100);
const HANDOVER_ROUNDS: usize = 3;
/// After the database had nothing left for an account and no other instance held any of it, its holds are refused
/// without asking again for this long (unless money moves, or another instance gives some back): a flood of requests
/// on an empty account costs no database work.
const DRY_FOR: Duration = Duration::from_secs(1);
/// Slices lapsed longer than this are deleted by whichever instance renews next.
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// Counters for `/metrics`.
#[derive(Default)]
struct SliceStats {
    grows: AtomicU64,
    handovers_asked: AtomicU64,
    handovers_given: AtomicU64,
    forgotten: AtomicU64,
}

pub struct SlicedLedger {
    store: Store,
    shared: Arc<Shared>,
    /// This instance's name on its slices and hand-over messages.
    holder: String,
    slices: Mutex<HashMap<SliceAccount, Slice>>,
    /// One growth at a time per user (a growth covers the user and the key of one request).
    growing: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Woken when another instance gave something back.
    given_back: Notify,
    /// The database half of growing and giving back, run apart from the request that asked for it: a client that
    /// goes away mid-transaction must not leave the database and this instance disagreeing about a slice.
    tasks: TaskTracker,
    stats: SliceStats,
}

/// What the slices could spare when a hold did not fit.
#[derive(Debug, Clone, Copy)]
struct Spendable {
    user: i64,
    key: i64,
    /// One of the slices went stale (money moved meanwhile): grow again rather than refuse.
    stale: bool,
}

impl SlicedLedger {
    pub fn new(store: Store, shared: Arc<Shared>, holder: String) -> Self {
        Self {
            store,
            shared,
            holder,
            slices: Mutex::new(HashMap::new()),
            growing: Mutex::new(HashMap::new()),
            given_back: Notify::new(),
            tasks: TaskTracker::new(),
            stats: SliceStats::default(),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SliceAccount, Slice>> {
        self.slices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn growth_lock(&self, user_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.growing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(user_id)
            .or_default()
            .clone()
    }

    /// Holds `amount` (between the hold's minimum and its estimate) when both slices can spare it.
    fn try_hold(&self, hold: &Hold<'_>, at_least: i64) -> Result<Reservation, Spendable> {
        let now = Instant::now();
        let mut slices = self.lock();
        let user = slices
            .get(&SliceAccount::User(hold.user_id))
            .map_or(0, |s| s.spendable(now));
        let key = slices
            .get(&SliceAccount::Key(hold.key_id))
            .map_or(0, |s| s.spendable(now));
        let amount = hold.estimate.max(1).min(user).min(key);
        if amount < at_least {
            let stale = [
                SliceAccount::User(hold.user_id),
                SliceAccount::Key(hold.key_id),
            ]
            .iter()
            .any(|a| slices.get(a).is_some_and(|s| s.stale));
            return Err(Spendable { user, key, stale });
        }
        for account in [
            SliceAccount::User(hold.user_id),
            SliceAccount::Key(hold.key_id),
        ] {
            if let Some(s) = slices.get_mut(&account) {
                s.record_hold(amount, now);
            }
        }
        Ok(Reservation {
            request_id: hold.request_id.to_owned(),
            user_id: hold.user_id,
            key_id: hold.key_id,
            amount,
        })
    }

    /// Same contract as [`Store::reserve`]: holds the estimate clamped to what the user and key have left — across
    /// every instance — or `InsufficientQuota` when less than the minimum is left.
    pub async fn reserve(self: &Arc<Self>, hold: Hold<'_>) -> Result<Reservation, StoreError> {
        let minimum = hold.minimum.clamp(1, hold.estimate.max(1));
        let full = hold.estimate.max(1);
        if let Ok(r) = self.try_hold(&hold, full) {
            return Ok(r);
        }
        let growth = self.growth_lock(hold.user_id);
        let rounds = if self.dry(&hold) {
            0
        } else {
            HANDOVER_ROUNDS + 1
        };
        for round in 0..rounds {
            let (others_hold, short) = {
                let _one_at_a_time = growth.lock().await;
                // Another request of this user may have grown the slices while this one waited.
                if let Ok(r) = self.try_hold(&hold, full) {
                    return Ok(r);
                }
                let others_hold = self.grow(&hold).await?;
                match self.try_hold(&hold, full) {
                    Ok(r) => return Ok(r),
                    Err(short) => (others_hold, short),
                }
            };
            let ask: Vec<SliceAccount> = [
                (short.user < full && others_hold.0).then_some(SliceAccount::User(hold.user_id)),
                (short.key < full && others_hold.1).then_some(SliceAccount::Key(hold.key_id)),
            ]
            .into_iter()
            .flatten()
            .collect();
            if short.stale && round < HANDOVER_ROUNDS {
                continue;
            }
            if ask.is_empty() || round == HANDOVER_ROUNDS || !self.ask_handover(&ask).await {
                break;
            }
        }
        self.try_hold(&hold, minimum).map_err(|short| {
            StoreError::InsufficientQuota(if short.user < minimum {
                QuotaShortfall::UserBalance
            } else {
                QuotaShortfall::KeyCap
            })
        })
    }

    /// Whether the user's or the key's account had nothing left anywhere at its last growth (see [`DRY_FOR`]).
    fn dry(&self, hold: &Hold<'_>) -> bool {
        let now = Instant::now();
        let slices = self.lock();
        [
            SliceAccount::User(hold.user_id),
            SliceAccount::Key(hold.key_id),
        ]
        .iter()
        .any(|a| slices.get(a).is_some_and(|s| s.is_dry(now)))
    }

    /// Gives stale surplus back, then grows both slices by what `hold` still needs plus what the next requests
    /// will; all of it in a task of its own (see `tasks`). Returns whether other instances hold slices of the user
    /// and of the key.
    async fn grow(self: &Arc<Self>, hold: &Hold<'_>) -> Result<(bool, bool), StoreError> {
        let me = Arc::clone(self);
        let (user_id, key_id, full) = (hold.user_id, hold.key_id, hold.estimate.max(1));
        self.tasks
            .spawn(async move { me.grow_now(user_id, key_id, full).await })
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }

    async fn grow_now(
        &self,
        user_id: i64,
        key_id: i64,
        full: i64,
    ) -> Result<(bool, bool), StoreError> {
        let (user, key) = (SliceAccount::User(user_id), SliceAccount::Key(key_id));
        for account in [user, key] {
            self.give_back(account, Release::Stale).await?;
        }
        let now = Instant::now();
        let (want_user, want_key) = {
            let mut slices = self.lock();
            // Growing also confirms the whole slice (its row is extended), so its surplus counts again.
            let mut want = |account| {
                let s = slices.entry(account).or_insert_with(|| Slice::new(now));
                Want {
                    needed: (full - s.surplus().max(0)).max(0),
                    ahead: s.ahead(full, now),
                }
            };
            (want(user), want(key))
        };
        let grown = self
            .store
            .grow_slices(
                &self.holder,
                (user_id, want_user),
                (key_id, want_key),
                SLICE_TTL,
            )
            .await?;
        self.stats.grows.fetch_add(1, Ordering::Relaxed);
        let trusted_until = grown.confirmed_at + TRUST_FOR;
        let mut slices = self.lock();
        let mut apply = |account, grant, want: Want| match grant {
            Grant::Granted {
                amount,
                others_hold,
            } => {
                if let Some(s) = slices.get_mut(&account) {
                    s.granted = s.granted.saturating_add(amount);
                    s.trusted_until = trusted_until;
                    s.dry_until = (amount < want.needed && !others_hold).then(|| now + DRY_FOR);
                }
                Ok(others_hold)
            }
            Grant::Missing => Err(StoreError::NotFound),
        };
        Ok((
            apply(user, grown.user, want_user)?,
            apply(key, grown.key, want_key)?,
        ))
    }

    /// Gives this instance's surplus of `account` back to the database — when `why` applies — and returns how much.
    /// The surplus leaves the slice here first (so no hold can take it meanwhile) and comes back if the database
    /// refuses.
    async fn give_back(&self, account: SliceAccount, why: Release) -> Result<i64, StoreError> {
        let surplus = {
            let mut slices = self.lock();
            let Some(s) = slices.get_mut(&account) else {
                return Ok(0);
            };
            match why {
                Release::Stale if !s.stale => return Ok(0),
                Release::Stale => s.stale = false,
                Release::Asked => s.lean_until = Some(Instant::now() + LEAN_FOR),
            }
            let surplus = s.surplus().max(0);
            s.granted -= surplus;
            surplus
        };
        if surplus == 0 {
            return Ok(0);
        }
        if let Err(e) = self
            .store
            .shrink_slice(&self.holder, account, surplus)
            .await
        {
            if let Some(s) = self.lock().get_mut(&account) {
                s.granted += surplus;
                s.stale |= why == Release::Stale;
            }
            return Err(e);
        }
        Ok(surplus)
    }

    /// Asks the other instances to give their surplus of `accounts` back, and serves them lean from now on.
    /// Returns whether something was given back within [`HANDOVER_WAIT`].
    async fn ask_handover(&self, accounts: &[SliceAccount]) -> bool {
        if !self.shared.is_redis() {
            return false;
        }
        let lean_until = Instant::now() + LEAN_FOR;
        {
            let mut slices = self.lock();
            for account in accounts {
                if let Some(s) = slices.get_mut(account) {
                    s.lean_until = Some(lean_until);
                }
            }
        }
        let given = self.given_back.notified();
        tokio::pin!(given);
        given.as_mut().enable();
        for &account in accounts {
            self.stats.handovers_asked.fetch_add(1, Ordering::Relaxed);
            self.shared
                .announce(
                    Feed::Ledger,
                    &self.holder,
                    &Message::Want(account).to_string(),
                )
                .await;
        }
        tokio::time::timeout(HANDOVER_WAIT, given).await.is_ok()
    }

    /// Gives this instance's whole surplus of `account` back and serves it lean for a while (another instance
    /// asked for it). Returns how much was given.
    async fn hand_over(&self, account: SliceAccount) -> Result<i64, StoreError> {
        let given = self.give_back(account, Release::Asked).await?;
        if given > 0 {
            self.stats.handovers_given.fetch_add(1, Ordering::Relaxed);
        }
        Ok(given)
    }

    /// Releases the hold and charges `actual`, above the hold only as far as the slices' surplus allows (as
    /// [`Store::settle`] does against the account). Returns the charge, pending until the log writer commits it.
    pub fn settle(&self, r: &Reservation, actual: i64) -> i64 {
        let mut slices = self.lock();
        let now = Instant::now();
        let extra_room = |s: Option<&Slice>| s.map_or(0, |s| s.spendable(now));
        let (user, key) = (SliceAccount::User(r.user_id), SliceAccount::Key(r.key_id));
        let actual = actual.max(0);
        let charged = if actual > r.amount {
            let extra = (actual - r.amount)
                .min(extra_room(slices.get(&user)))
                .min(extra_room(slices.get(&key)));
            r.amount + extra
        } else {
            actual
        };
        for account in [user, key] {
            if let Some(s) = slices.get_mut(&account) {
                s.reserved = s.reserved.saturating_sub(r.amount).max(0);
                s.pending = s.pending.saturating_add(charged);
            }
        }
        charged
    }

    /// The log writer committed `amount` for this user and key, lowering both slices in the database by it.
    pub fn committed(&self, user_id: i64, key_id: i64, amount: i64) {
        let mut slices = self.lock();
        for account in [SliceAccount::User(user_id), SliceAccount::Key(key_id)] {
            if let Some(s) = slices.get_mut(&account) {
                s.pending = s.pending.saturating_sub(amount);
                s.granted = s.granted.saturating_sub(amount);
            }
        }
    }

    /// Money moved outside the ledger: every slice gives its surplus back before its next growth, and none is
    /// spent from until then.
    pub fn rebase(&self) {
        for s in self.lock().values_mut() {
            s.stale = true;
        }
    }

    /// A key's cap changed: its slice is stale.
    pub fn set_key_cap(&self, key_id: i64) {
        if let Some(s) = self.lock().get_mut(&SliceAccount::Key(key_id)) {
            s.stale = true;
        }
    }

    /// The slices' totals and the event counts, for `/metrics`.
    pub fn figures(&self) -> Vec<(&'static str, i64)> {
        let (mut accounts, mut granted, mut reserved, mut pending) = (0, 0, 0, 0);
        for s in self.lock().values() {
            accounts += 1;
            granted += s.granted;
            reserved += s.reserved;
            pending += s.pending;
        }
        let count = |c: &AtomicU64| i64::try_from(c.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        let st = &self.stats;
        vec![
            ("accounts", accounts),
            ("granted", granted),
            ("reserved", reserved),
            ("pending", pending),
            ("grows", count(&st.grows)),
            ("handovers_asked", count(&st.handovers_asked)),
            ("handovers_given", count(&st.handovers_given)),
            ("forgotten", count(&st.forgotten)),
        ]
    }

    /// The ledger's background work until `stop`: renewing the slices, giving idle ones back, and answering the
    /// other instances' hand-over requests.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let me = self.holder.clone();
        let feed = self.shared.follow(
            Feed::Ledger,
            &me,
            |body| {
                let ledger = self.clone();
                async move { ledger.on_message(&body).await }
            },
            std::future::pending(),
        );
        let mut tick = tokio::time::interval(RENEW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let heartbeat = async {
            loop {
                tick.tick().await;
                self.heartbeat().await;
            }
        };
        tokio::select! {
            () = feed => {}
            () = heartbeat => {}
            () = stop => {}
        }
    }

    async fn on_message(&self, body: &str) {
        match body.parse::<Message>() {
            Ok(Message::Want(account)) => match self.hand_over(account).await {
                Ok(given) => {
                    self.shared
                        .announce(
                            Feed::Ledger,
                            &self.holder,
                            &Message::Gave(account, given).to_string(),
                        )
                        .await;
                }
                Err(e) => tracing::warn!(error = %e, "giving a budget slice back failed"),
            },
            Ok(Message::Gave(account, given)) if given > 0 => {
                if let Some(s) = self.lock().get_mut(&account) {
                    s.dry_until = None;
                }
                self.given_back.notify_waiters();
            }
            Ok(Message::Gave(..)) | Err(()) => {}
        }
    }

    /// Renews every slice (and so confirms it), and gives back the surplus of slices idle for [`IDLE`].
    async fn heartbeat(&self) {
        let now = Instant::now();
        let held = self.lock().values().filter(|s| s.granted > 0).count();
        match self
            .store
            .renew_slices(&self.holder, SLICE_TTL, FORGET_AFTER)
            .await
        {
            Ok((renewed, forgotten)) => {
                self.stats.forgotten.fetch_add(forgotten, Ordering::Relaxed);
                // Fewer rows than slices held here: some lapsed and were forgotten (this instance was cut off for
                // a long time). Trust none of them until each has been given back and grown again.
                let lost = usize::try_from(renewed).is_ok_and(|r| r < held);
                if lost {
                    tracing::warn!(
                        held,
                        renewed,
                        "budget slices were lost while this instance was cut off"
                    );
                }
                for s in self.lock().values_mut() {
                    s.stale |= lost;
                    s.trusted_until = now + TRUST_FOR;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the budget slices failed");
                return;
            }
        }
        let idle: Vec<SliceAccount> = self
            .lock()
            .iter_mut()
            .filter(|(_, s)| now.saturating_duration_since(s.last_hold) >= IDLE && s.surplus() > 0)
            .map(|(account, s)| {
                s.stale = true;
                *account
            })
            .collect();
        for account in idle {
            if let Err(e) = self.give_back(account, Release::Stale).await {
                tracing::warn!(error = %e, "giving an idle budget slice back failed");
            }
        }
    }

    /// A clean shutdown, after the log writer committed everything: gives every slice back.
    pub async fn close(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        if let Err(e) = self.store.drop_slices(&self.holder).await {
            tracing::warn!(error = %e, "giving the budget slices back failed; they lapse in {SLICE_TTL:?}");
        }
    }
}

/// Why a slice's surplus goes back to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Money moved outside the ledger, or the slice sat idle: only if the slice is stale.
    Stale,
    /// Another instance asked for it: always, and the account is then served lean.
    Asked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        for m in [
            Message::Want(SliceAccount::User(7)),
            Message::Gave(SliceAccount::Key(9), 1200),
        ] {
            assert_eq!(m.to_string().parse::<Message>(), Ok(m));
        }
        for bad in [
            "",
            "want",
            "want user",
            "want user x",
            "gave key 9",
            "take user 1",
        ] {
            assert!(bad.parse::<Message>().is_err(), "{bad}");
        }
    }

    #[test]
    fn growth_takes_what_is_needed_and_at_most_half_the_rest() {
        let want = |needed, ahead| Want { needed, ahead };
        assert_eq!(store::growth(100, want(10, 1000)), 10 + 45);
        assert_eq!(store::growth(100, want(10, 20)), 30);
        assert_eq!(store::growth(5, want(10, 20)), 5);
        assert_eq!(store::growth(-3, want(10, 20)), 0);
        assert_eq!(store::growth(1, want(0, 20)), 0);
    }
}
