//! The gateway's cache snapshot: every user, key, channel, price and group read in one transaction.

use crate::channels::fetch_channels;
use crate::record::fetch_all;
use crate::{Catalog, Store, StoreError};

impl Store {
    /// A consistent snapshot: all reads happen inside one read transaction.
    pub async fn load_catalog(&self) -> Result<Catalog, StoreError> {
        let mut tx = self.read.begin().await?;
        let mut catalog = Catalog {
            users: fetch_all(&mut tx).await?,
            keys: fetch_all(&mut tx).await?,
            channels: fetch_channels(&mut tx).await?,
            prices: fetch_all(&mut tx).await?,
            groups: fetch_all(&mut tx).await?,
        };
        tx.commit().await?;
        self.open_keys(&mut catalog.channels)?;
        Ok(catalog)
    }
}
