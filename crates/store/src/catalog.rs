//! The gateway's cache snapshot: every user, key, channel, price and group read in one transaction.

use crate::channels::fetch_channels;
use crate::groups::fetch_groups;
use crate::keys::fetch_keys;
use crate::prices::fetch_prices;
use crate::users::fetch_users;
use crate::{Catalog, Store, StoreError};

impl Store {
    /// A consistent snapshot: all reads happen inside one read transaction.
    pub async fn load_catalog(&self) -> Result<Catalog, StoreError> {
        let mut tx = self.read.begin().await?;
        let mut catalog = Catalog {
            users: fetch_users(&mut tx).await?,
            keys: fetch_keys(&mut tx).await?,
            channels: fetch_channels(&mut tx).await?,
            prices: fetch_prices(&mut tx).await?,
            groups: fetch_groups(&mut tx).await?,
        };
        tx.commit().await?;
        self.open_keys(&mut catalog.channels)?;
        Ok(catalog)
    }
}
