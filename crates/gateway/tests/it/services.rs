//! The shared services some tests need: Redis on 127.0.0.1:6379 and a PostgreSQL server named by
//! `TOLLGATE_TEST_POSTGRES` (`.ci/run` starts and sets both). Tests that need one skip, saying so, without it.

use sqlx::{Connection, Executor, PgConnection};

pub const REDIS: &str = "redis://127.0.0.1:6379";
pub const REDIS_ADDR: &str = "127.0.0.1:6379";

/// Whether Redis runs; prints why `test` is skipped when it does not.
pub async fn redis_up(test: &str) -> bool {
    let up = tokio::net::TcpStream::connect(REDIS_ADDR).await.is_ok();
    if !up {
        eprintln!("Redis is not running on {REDIS_ADDR}; skipping {test}");
    }
    up
}

/// A fresh schema on the test PostgreSQL server, for one gateway (or several sharing it).
pub struct PgSchema {
    pub server: String,
    pub name: String,
    pub admin: PgConnection,
}

impl PgSchema {
    /// `None` (and a message naming `test`) when `TOLLGATE_TEST_POSTGRES` is not set.
    pub async fn create(test: &str) -> Option<PgSchema> {
        let Some(server) = std::env::var("TOLLGATE_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            eprintln!("TOLLGATE_TEST_POSTGRES is not set: skipping {test}");
            return None;
        };
        let name = format!("gw_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server).await.unwrap();
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .unwrap();
        Some(PgSchema {
            server,
            name,
            admin,
        })
    }

    /// The server's URL with this schema as the search path.
    pub fn url(&self) -> String {
        Self::in_schema(&self.server, &self.name)
    }

    /// `server` (any URL of the same database) with `schema` as the search path.
    pub fn in_schema(server: &str, schema: &str) -> String {
        let sep = if server.contains('?') { '&' } else { '?' };
        format!("{server}{sep}options=-c%20search_path%3D{schema}")
    }

    /// Best effort: a leftover schema is harmless.
    pub async fn drop_schema(mut self) {
        let _ = self.admin.execute("SET lock_timeout = '5s'").await;
        let _ = self
            .admin
            .execute(format!("DROP SCHEMA {} CASCADE", self.name).as_str())
            .await;
        let _ = self.admin.close().await;
    }
}
