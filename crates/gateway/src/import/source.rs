//! Reading a new-api / one-api database: SQLite (a file path or `sqlite://`), PostgreSQL (`postgres://`) or MySQL
//! (`mysql://`, or the Go DSN `user:pass@tcp(host:3306)/db` that new-api's `SQL_DSN` uses).
//!
//! Their schemas differ by project and version (columns come and go), so each table's columns are looked up
//! first and only those that exist are selected; every value is cast in SQL to a 64-bit integer or to text, the
//! two types sqlx's `Any` driver reads on every engine (GORM's `char(48)`, `boolean` and `timestamptz` columns
//! it would refuse), and a soft-delete column is read as "is it set".

use anyhow::{Context, bail};
use futures::StreamExt;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// How a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    /// Only whether the value is set (`deleted_at`).
    Present,
}

/// One source row: column name → value (`None` for NULL or a column this schema lacks).
#[derive(Debug, Default, Clone)]
pub struct SourceRow {
    pub table: &'static str,
    ints: HashMap<&'static str, i64>,
    texts: HashMap<&'static str, String>,
}

impl SourceRow {
    pub fn int(&self, col: &str) -> Option<i64> {
        self.ints.get(col).copied()
    }

    pub fn text(&self, col: &str) -> Option<&str> {
        self.texts.get(col).map(String::as_str)
    }

    /// Text, trimmed; `None` when absent or blank.
    pub fn nonblank(&self, col: &str) -> Option<&str> {
        self.text(col).map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn flag(&self, col: &str) -> bool {
        self.int(col).is_some_and(|v| v != 0)
    }

    /// `channels row 7`, for messages.
    pub fn at(&self) -> String {
        match self.int("id") {
            Some(id) => format!("{} row id={id}", self.table),
            None => format!("a {} row", self.table),
        }
    }

    #[cfg(test)]
    pub fn test(
        table: &'static str,
        ints: &[(&'static str, i64)],
        texts: &[(&'static str, &str)],
    ) -> Self {
        Self {
            table,
            ints: ints.iter().copied().collect(),
            texts: texts.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        }
    }
}

pub struct Source {
    pool: AnyPool,
    pub dialect: Dialect,
    /// What to show for the source (the URL without its password).
    pub label: String,
}

/// `--from` as an sqlx URL, and its dialect.
fn url_of(from: &str) -> anyhow::Result<(String, Dialect)> {
    let from = from.trim();
    if from.starts_with("postgres://") || from.starts_with("postgresql://") {
        return Ok((from.to_owned(), Dialect::Postgres));
    }
    if from.starts_with("mysql://") {
        return Ok((from.to_owned(), Dialect::MySql));
    }
    if let Some(path) = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
    {
        // Read-only unless the URL already says how to open it.
        let url = if path.contains('?') {
            format!("sqlite://{path}")
        } else {
            format!("sqlite://{path}?mode=ro")
        };
        return Ok((url, Dialect::Sqlite));
    }
    // Go's MySQL DSN, as new-api's SQL_DSN holds it: user:pass@tcp(host:port)/db?params
    if let Some((auth, rest)) = from.split_once("@tcp(")
        && let Some((host, db)) = rest.split_once(")/")
    {
        let db = db.split('?').next().unwrap_or_default();
        return Ok((format!("mysql://{auth}@{host}/{db}"), Dialect::MySql));
    }
    if from.contains("://") {
        bail!(
            "--from: unsupported database URL {:?} (use a SQLite file path, postgres://… or mysql://…)",
            without_password(from)
        );
    }
    let path = std::path::Path::new(from);
    if !path.is_file() {
        bail!("--from: {from:?} is not a SQLite file");
    }
    Ok((format!("sqlite://{from}?mode=ro"), Dialect::Sqlite))
}

fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let auth = &url[scheme + 3..at];
            let user = auth.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Source {
    pub async fn open(from: &str) -> anyhow::Result<Source> {
        sqlx::any::install_default_drivers();
        let (url, dialect) = url_of(from)?;
        let label = without_password(&url);
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .with_context(|| format!("cannot open the source database {label}"))?;
        Ok(Source {
            pool,
            dialect,
            label,
        })
    }

    fn quote(&self, ident: &str) -> String {
        match self.dialect {
            Dialect::MySql => format!("`{ident}`"),
            _ => format!("\"{ident}\""),
        }
    }

    /// The table's columns and their declared types (lower case); empty when the table does not exist.
    pub async fn columns(&self, table: &str) -> anyhow::Result<HashMap<String, String>> {
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT name, type FROM pragma_table_info(?)",
            Dialect::Postgres => {
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
                 WHERE table_name = $1 AND table_schema = current_schema()"
            }
            Dialect::MySql => {
                "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR) FROM information_schema.columns \
                 WHERE table_name = ? AND table_schema = DATABASE()"
            }
        };
        let rows = sqlx::query(sql)
            .bind(table)
            .fetch_all(&self.pool)
            .await
            .with_context(|| format!("cannot read the columns of {table}"))?;
        let mut out = HashMap::new();
        for row in rows {
            let name = text_at(&row, 0)?.unwrap_or_default();
            let kind = text_at(&row, 1)?.unwrap_or_default();
            out.insert(name, kind.to_ascii_lowercase());
        }
        Ok(out)
    }

    pub async fn count(&self, table: &str) -> anyhow::Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.quote(table));
        Ok(sqlx::query_scalar(&sql).fetch_one(&self.pool).await?)
    }

    /// Every row of `table` with the wanted columns; `required` columns must exist in this schema. Rows are
    /// streamed; `on_row` hears of each (the progress bar), after being told the table's size.
    pub async fn rows(
        &self,
        table: &'static str,
        wanted: &[(&'static str, Kind)],
        required: &[&str],
        on_row: &mut dyn FnMut(Option<u64>),
    ) -> anyhow::Result<Vec<SourceRow>> {
        let columns = self.columns(table).await?;
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        for r in required {
            if !columns.contains_key(*r) {
                bail!(
                    "the source's {table} table has no column {r:?}: is this a new-api or one-api database?"
                );
            }
        }
        let present: Vec<(&'static str, Kind, &str)> = wanted
            .iter()
            .filter_map(|(name, kind)| columns.get(*name).map(|t| (*name, *kind, t.as_str())))
            .collect();
        let select: Vec<String> = present
            .iter()
            .map(|(name, kind, declared)| self.select_expr(name, *kind, declared))
            .collect();
        let order = if columns.contains_key("id") {
            format!(" ORDER BY {}", self.quote("id"))
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT {} FROM {}{order}",
            select.join(", "),
            self.quote(table)
        );
        on_row(Some(u64::try_from(self.count(table).await?).unwrap_or(0)));
        let mut rows = sqlx::query(&sql).fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            let row = row.with_context(|| format!("cannot read {table}"))?;
            on_row(None);
            let mut r = SourceRow {
                table,
                ..Default::default()
            };
            for (i, (name, kind, _)) in present.iter().enumerate() {
                match kind {
                    Kind::Int | Kind::Present => {
                        if let Some(v) = row.try_get::<Option<i64>, _>(i)? {
                            r.ints.insert(name, v);
                        }
                    }
                    Kind::Text => {
                        if let Some(v) = text_at(&row, i)? {
                            r.texts.insert(name, v);
                        }
                    }
                }
            }
            out.push(r);
        }
        Ok(out)
    }

    fn select_expr(&self, name: &str, kind: Kind, declared: &str) -> String {
        let col = self.quote(name);
        match (kind, self.dialect) {
            (Kind::Present, _) => format!("CASE WHEN {col} IS NULL THEN 0 ELSE 1 END"),
            (Kind::Int, _) if declared.contains("bool") => {
                format!("CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN 1 ELSE 0 END")
            }
            (Kind::Int, Dialect::MySql) => format!("CAST({col} AS SIGNED)"),
            (Kind::Int, Dialect::Sqlite) => format!("CAST({col} AS INTEGER)"),
            (Kind::Int, Dialect::Postgres) => format!("CAST({col} AS BIGINT)"),
            (Kind::Text, Dialect::MySql) => format!("CAST({col} AS CHAR)"),
            (Kind::Text, _) => format!("CAST({col} AS TEXT)"),
        }
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Text at column `i`. MySQL reports some casts and `information_schema` columns as binary strings, which the
/// `Any` driver hands over as bytes: those are read as UTF-8 (lossily, for a stray invalid byte).
fn text_at(row: &sqlx::any::AnyRow, i: usize) -> anyhow::Result<Option<String>> {
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => Ok(v),
        Err(sqlx::Error::ColumnDecode { .. }) => Ok(row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_dsns() {
        assert_eq!(
            url_of("postgres://u:p@h/db").unwrap(),
            ("postgres://u:p@h/db".to_owned(), Dialect::Postgres)
        );
        assert_eq!(
            url_of("root:secret@tcp(db:3306)/new-api?charset=utf8mb4&parseTime=True").unwrap(),
            (
                "mysql://root:secret@db:3306/new-api".to_owned(),
                Dialect::MySql
            )
        );
        assert_eq!(
            url_of("sqlite:///data/one-api.db").unwrap().1,
            Dialect::Sqlite
        );
        assert_eq!(
            url_of("sqlite:///data/one-api.db?mode=rw").unwrap().0,
            "sqlite:///data/one-api.db?mode=rw"
        );
        assert!(url_of("/no/such/file.db").is_err());
        assert!(url_of("redis://x").is_err());
        assert_eq!(
            without_password("mysql://root:secret@db:3306/x"),
            "mysql://root:***@db:3306/x"
        );
    }
}
