//! The in-memory catalog: keys, users, groups, prices and channels, loaded from the store in one snapshot and
//! swapped atomically. The hot path reads only this; every admin write (and every health change) reloads it,
//! while a key owner's self-service write replaces just that key ([`Catalog::put_key`], [`Catalog::remove_key`]).

pub mod enforced;
mod key_health;
mod snapshot;

pub use key_health::KeyHealth;

pub use snapshot::{ChannelEntry, KeyEntry, Snapshot, parse_cidr as snapshot_parse_cidr};

use arc_swap::ArcSwap;
use std::sync::Arc;
use store::{Store, StoreError};
use tokio::sync::Mutex;

pub struct Catalog {
    current: ArcSwap<Snapshot>,
    /// Serialises reloads so an older load never overwrites a newer one.
    reload_lock: Mutex<()>,
}

impl Catalog {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let snap = Snapshot::build(store.load_catalog().await?, None);
        Ok(Self {
            current: ArcSwap::from_pointee(snap),
            reload_lock: Mutex::new(()),
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replaces one key's entry (as just written to the store) without reloading anything else. Under the
    /// reload lock, so a reload that read the store before the write cannot overwrite it afterwards.
    pub async fn put_key(&self, key: &store::ApiKey) {
        let _guard = self.reload_lock.lock().await;
        let mut next = Snapshot::clone(&self.current.load());
        next.put_key(key);
        self.current.store(Arc::new(next));
    }

    /// Drops one key's entry (just deleted from the store); see [`Self::put_key`].
    pub async fn remove_key(&self, key_hash: &str) {
        let _guard = self.reload_lock.lock().await;
        let mut next = Snapshot::clone(&self.current.load());
        next.remove_key(key_hash);
        self.current.store(Arc::new(next));
    }

    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let _guard = self.reload_lock.lock().await;
        let data = store.load_catalog().await?;
        let previous = self.current.load();
        self.current
            .store(Arc::new(Snapshot::build(data, Some(&previous))));
        Ok(())
    }
}
