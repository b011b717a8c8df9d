//! Key health decided in memory ahead of the store. A snapshot's `ChannelKey::healthy` is what the database said
//! at the last reload; when an upstream rejects a key, writing that and rebuilding the catalog takes a while, and
//! every request in between would still be sent with the rejected key. So the decision is recorded here first —
//! the very next `pick_key` sees it — then persisted, and dropped once a reload carries it.
//!
//! One `KeyHealth` per channel, carried across reloads like the round-robin position.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Health decisions (key id → healthy) not yet carried by a snapshot.
#[derive(Debug, Default)]
pub struct KeyHealth {
    decided: RwLock<HashMap<i64, bool>>,
}

impl KeyHealth {
    /// The key's health: the in-memory decision if there is one, else what the store said (`stored`).
    pub fn is_healthy(&self, key_id: i64, stored: bool) -> bool {
        let decided = self.decided.read().unwrap_or_else(PoisonError::into_inner);
        decided.get(&key_id).copied().unwrap_or(stored)
    }

    /// Records a decision; it takes effect for the next request, before anything is persisted.
    pub fn decide(&self, key_id: i64, healthy: bool) {
        let mut decided = self.decided.write().unwrap_or_else(PoisonError::into_inner);
        decided.insert(key_id, healthy);
    }

    /// Forgets the decision about `key_id` if it is still `healthy` (a later, opposite decision stays): called
    /// once the store holds it and the catalog was rebuilt from the store.
    pub fn settled(&self, key_id: i64, healthy: bool) {
        let mut decided = self.decided.write().unwrap_or_else(PoisonError::into_inner);
        if decided.get(&key_id) == Some(&healthy) {
            decided.remove(&key_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_overrides_the_store_until_settled() {
        let h = KeyHealth::default();
        assert!(h.is_healthy(1, true));
        h.decide(1, false);
        assert!(!h.is_healthy(1, true));
        assert!(h.is_healthy(2, true), "other keys keep the store's word");
        h.settled(1, true);
        assert!(
            !h.is_healthy(1, true),
            "settling the opposite decision changes nothing"
        );
        h.settled(1, false);
        assert!(
            h.is_healthy(1, true),
            "once settled, the store decides again"
        );
    }
}
