//! The databases every store test runs against: SQLite always, PostgreSQL as well when
//! `TOLLGATE_TEST_POSTGRES` names a server (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//!
//! [`on_each_backend!`] turns one test body into a module with a `sqlite` and a `postgres` test. Each
//! PostgreSQL run gets a schema of its own (created here, found through `search_path` in the connection URL,
//! dropped when the [`TestDb`] is dropped, also after a failure), so the runs are independent and parallel.

use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use store::Store;

/// Names the PostgreSQL server of the optional runs.
pub const POSTGRES_ENV: &str = "TOLLGATE_TEST_POSTGRES";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Unique within this machine: process id, time and a counter.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

enum Cleanup {
    Nothing,
    Dir(PathBuf),
    Schema { server: String, schema: String },
}

/// One test database; connect to it with [`TestDb::store`] (as often as a test needs).
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

impl TestDb {
    /// `sqlite::memory:`, or with `file` a database file in a fresh temporary folder.
    pub fn sqlite(file: bool) -> TestDb {
        if !file {
            return TestDb {
                url: "sqlite::memory:".into(),
                cleanup: Cleanup::Nothing,
            };
        }
        let dir = std::env::temp_dir().join(unique("tollgate-store"));
        TestDb {
            url: format!("sqlite://{}", dir.join("tollgate.db").display()),
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh schema on the server named by `TOLLGATE_TEST_POSTGRES`; None (after a note) when it is unset.
    #[expect(
        clippy::unwrap_used,
        reason = "test fixture: failing loudly is the point"
    )]
    pub async fn postgres() -> Option<TestDb> {
        let server = std::env::var(POSTGRES_ENV).ok().filter(|s| !s.is_empty());
        let Some(server) = server else {
            eprintln!("{POSTGRES_ENV} is not set: skipping the PostgreSQL run");
            return None;
        };
        let schema = unique("t");
        let mut conn = PgConnection::connect(&server).await.unwrap();
        conn.execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
        let sep = if server.contains('?') { '&' } else { '?' };
        Some(TestDb {
            url: format!("{server}{sep}options=-c%20search_path%3D{schema}"),
            cleanup: Cleanup::Schema { server, schema },
        })
    }

    #[expect(
        clippy::unwrap_used,
        reason = "test fixture: failing loudly is the point"
    )]
    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }
}

/// `DROP SCHEMA … CASCADE`, giving up after a few seconds rather than waiting forever for a lock.
async fn drop_schema(server: &str, schema: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(server).await?;
    conn.execute("SET lock_timeout = '5s'").await?;
    conn.execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await?;
    conn.close().await
}

impl TestDb {
    /// Removes the database. Async, so pooled connections that are still handing back a transaction
    /// (their rollback runs on the test's runtime) can finish before the schema goes.
    pub async fn remove(mut self) {
        if let Cleanup::Schema { server, schema } =
            std::mem::replace(&mut self.cleanup, Cleanup::Nothing)
        {
            let _ = drop_schema(&server, &schema).await;
        }
    }
}

/// The fallback when a test failed before [`TestDb::remove`].
impl Drop for TestDb {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Nothing) {
            Cleanup::Nothing => {}
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            // Drop runs inside the test's runtime, which cannot be blocked on: a thread with its own does it.
            Cleanup::Schema { server, schema } => {
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(drop_schema(&server, &schema))
                        .map_err(std::io::Error::other)
                })
                .join();
            }
        }
    }
}

/// `on_each_backend!(file, #[tokio::test] async fn name(db) { … })` defines `name::sqlite` and
/// `name::postgres`, each running the body with `db: &TestDb`. `file` (a bool) picks a SQLite file over
/// `sqlite::memory:`; the PostgreSQL run returns early when `TOLLGATE_TEST_POSTGRES` is unset.
macro_rules! on_each_backend {
    ($file:literal, #[$test:meta] async fn $name:ident($db:ident) $body:block) => {
        // The body is a plain function next to the module of the same name (values and modules do not clash).
        // `cfg(test)` (always true here) lets clippy treat the body as test code, as it would a `#[test]` fn.
        #[cfg(test)]
        async fn $name($db: &crate::backends::TestDb) $body

        mod $name {
            #[$test]
            async fn sqlite() {
                let db = crate::backends::TestDb::sqlite($file);
                super::$name(&db).await;
            }

            #[$test]
            async fn postgres() {
                let Some(db) = crate::backends::TestDb::postgres().await else {
                    return;
                };
                super::$name(&db).await;
                db.remove().await;
            }
        }
    };
}
