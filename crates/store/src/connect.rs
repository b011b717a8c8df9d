//! Opening the database (pools, pragmas, migrations), health check, shutdown and the transaction helpers.
//!
//! Both engines go through sqlx's `Any` pools (see [`crate::backend`] for why). SQLite keeps its shape: one
//! write connection that takes every write transaction with `BEGIN IMMEDIATE`, plus a `query_only` read pool;
//! the pragmas the typed driver used to set are set in `after_connect`. PostgreSQL gets one ordinary pool for
//! reads and writes; its write transactions are READ COMMITTED and lock the rows they check (`FOR UPDATE`),
//! its read transactions are REPEATABLE READ so a multi-query read is one snapshot, as on SQLite.

use crate::backend::Backend;
use crate::{Store, StoreError};
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Connections in the read pool of a SQLite file database.
const READ_CONNECTIONS: u32 = 4;
/// Connections in the PostgreSQL pool (reads and writes).
const POSTGRES_CONNECTIONS: u32 = 16;
/// How long a caller waits for a pooled connection before giving up — also how long a request waits while the
/// database is unreachable before it is answered 503 (sqlx keeps retrying the connection until then). Matches
/// SQLite's busy timeout, so both engines fail alike.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// `postgres://…` or `postgresql://…`.
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

async fn pragmas(conn: &mut AnyConnection, pragmas: &[&str]) -> Result<(), sqlx::Error> {
    for p in pragmas {
        conn.execute(*p).await?;
    }
    Ok(())
}

impl Store {
    /// Opens the database and runs the embedded migrations of its engine:
    ///
    /// * `sqlite://path/to/file.db` (creating the folder and file if missing) or `sqlite::memory:`; sets WAL /
    ///   synchronous=NORMAL / foreign_keys / busy_timeout. A file database gets a one-connection write pool
    ///   plus a read pool; an in-memory database lives in one connection, so both pools are that connection.
    /// * `postgres://…` / `postgresql://…`: one pool of 16 connections. Add
    ///   `?options=-c%20search_path%3Dmy_schema` to keep the tables in a schema other than `public`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        if is_postgres_url(url) {
            Self::connect_postgres(url).await
        } else {
            Self::connect_sqlite(url).await
        }
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = AnyPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        POSTGRES_MIGRATOR.run(&pool).await?;
        Ok(Store {
            backend: Backend::Postgres,
            write: pool.clone(),
            read: pool,
            cipher: None,
        })
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        // Parsed here to reject a bad URL early and to find the file's folder; the pools take the URL itself.
        let parsed = SqliteConnectOptions::from_str(url)?;

        if is_memory(url) {
            // sqlx's SQLite defaults: foreign_keys=ON, busy_timeout=5s.
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect(url)
                .await?;
            SQLITE_MIGRATOR.run(&pool).await?;
            return Ok(Store {
                backend: Backend::Sqlite,
                cipher: None,
                write: pool.clone(),
                read: pool,
            });
        }

        if let Some(parent) = parsed.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(sqlx::Error::Io)?;
        }

        let write: AnyPool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(pragmas(
                    conn,
                    &["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"],
                ))
            })
            .connect(&with_param(url, "mode=rwc"))
            .await?;
        SQLITE_MIGRATOR.run(&write).await?;

        // WAL is a property of the file (set above by the writer); readers must not try to switch it,
        // since that needs an exclusive lock. `query_only` guards against writes slipping onto this pool.
        let read = AnyPoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(pragmas(
                    conn,
                    &["PRAGMA synchronous = NORMAL", "PRAGMA query_only = ON"],
                ))
            })
            .connect(url)
            .await?;

        Ok(Store {
            backend: Backend::Sqlite,
            write,
            read,
            cipher: None,
        })
    }

    /// Connections per pool for monitoring: (pool name, open, idle). SQLite has a `write` and a `read` pool;
    /// PostgreSQL one pool, reported as `main`.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        let stat = |name, pool: &sqlx::AnyPool| (name, pool.size(), pool.num_idle());
        if matches!(self.backend, Backend::Postgres) {
            return vec![stat("main", &self.write)];
        }
        vec![stat("write", &self.write), stat("read", &self.read)]
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

    /// `text` with its `?` placeholders in this store's SQL dialect.
    pub(crate) fn sql<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.backend.sql(text)
    }

    /// Begins a read-write transaction. SQLite: on the single write connection, taking the write lock up
    /// front so a transaction never has to upgrade (and never meets `SQLITE_BUSY` halfway through).
    /// PostgreSQL: READ COMMITTED; callers lock what they read-check-write with [`Backend::for_update`].
    pub(crate) async fn write_tx(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// Begins a read-only transaction whose queries all see one snapshot.
    pub(crate) async fn read_tx(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.read.begin().await?,
            Backend::Postgres => {
                self.read
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        })
    }
}
