//! The in-memory catalog: keys, users, groups, prices and channels, loaded from the store in one snapshot and
//! swapped atomically. The hot path reads only this; every admin write (and every health change) reloads it.

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

    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let _guard = self.reload_lock.lock().await;
        let data = store.load_catalog().await?;
        let previous = self.current.load();
        self.current
            .store(Arc::new(Snapshot::build(data, Some(&previous))));
        Ok(())
    }
}
