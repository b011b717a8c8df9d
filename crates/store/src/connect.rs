//! Opening the database (pools, pragmas, migrations), health check, shutdown and the write-transaction helper.

use crate::{Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Connections in the read pool of a file database.
const READ_CONNECTIONS: u32 = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Store {
    /// Opens `sqlite://path/to/file.db` (creating the folder and file if missing) or `sqlite::memory:`,
    /// sets WAL / synchronous=NORMAL / foreign_keys / busy_timeout and runs the embedded migrations.
    ///
    /// A file database gets a one-connection write pool plus a read pool; an in-memory database lives
    /// in one connection, so both pools are that same single connection.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let base = SqliteConnectOptions::from_str(url)?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        if is_memory(url) {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(base)
                .await?;
            MIGRATOR.run(&pool).await?;
            return Ok(Store {
                cipher: None,
                write: pool.clone(),
                read: pool,
            });
        }

        if let Some(parent) = base.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(sqlx::Error::Io)?;
        }

        let write_opts = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_opts)
            .await?;
        MIGRATOR.run(&write).await?;

        // WAL is a property of the file (set above by the writer); readers must not try to switch it,
        // since that needs an exclusive lock. `query_only` guards against writes slipping onto this pool.
        let read_opts = base
            .synchronous(SqliteSynchronous::Normal)
            .pragma("query_only", "ON");
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(read_opts)
            .await?;

        Ok(Store {
            write,
            read,
            cipher: None,
        })
    }

    /// Round trip to the database on both pools.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.write).await?;
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Closes both pools, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Begins a read-write transaction on the write pool, taking the write lock up front so a
    /// transaction never has to upgrade (and never meets `SQLITE_BUSY` halfway through).
    pub(crate) async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }
}
