//! Which database engine a [`crate::Store`] talks to, and the few places where their SQL differs.
//!
//! Why sqlx's `Any` driver rather than two typed pools: every repository function exists once, written
//! against `AnyConnection` / `AnyRow`, and the engines differ only in the handful of fragments below. The
//! price is that `Any` knows nothing about placeholders: SQLite takes `?`, PostgreSQL wants `$1, $2, …`, and
//! `QueryBuilder<Any>` always writes `?`. So all SQL in this crate is written with `?` and passes through
//! [`Backend::sql`], which numbers the placeholders for PostgreSQL (outside quoted text) and leaves SQLite's
//! text untouched. Values cross the boundary only as `i64`, `String` and their `Option`s (times as unix ms,
//! booleans as 0/1, JSON as text: see `codec`), which both engines and `Any` map without surprises.

use crate::StoreError;
use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::{Any, Execute, QueryBuilder};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The engine behind a connection of this crate's pools.
    pub(crate) fn of(conn: &AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// `text` with its `?` placeholders in this engine's syntax.
    pub(crate) fn sql(self, text: &str) -> Cow<'_, str> {
        match self {
            Backend::Sqlite => Cow::Borrowed(text),
            Backend::Postgres => Cow::Owned(number_placeholders(text)),
        }
    }

    /// Row-lock suffix for a `SELECT` inside a write transaction. PostgreSQL needs it for read-check-write
    /// sequences across connections; SQLite has no such clause and needs none (its write transactions are
    /// `BEGIN IMMEDIATE` on a single connection, so they never interleave).
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// Rewrites each `?` outside quoted text (`'…'`, `"…"`) and comments (`-- …`) as `$1`, `$2`, … in order.
pub(crate) fn number_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0_u32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // A doubled quote inside is an escaped quote: closing and reopening copies it right.
                out.push(c);
                for q in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for q in chars.by_ref() {
                    out.push(q);
                    if q == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// The finished SQL of `qb` in `backend`'s syntax and its bound arguments, for `sqlx::query_with`.
/// `QueryBuilder<Any>` only ever writes `?` placeholders (see the module doc).
pub(crate) fn finish<'q>(
    backend: Backend,
    qb: &'q mut QueryBuilder<'_, Any>,
) -> Result<(String, AnyArguments<'q>), StoreError> {
    let sql = backend.sql(qb.sql()).into_owned();
    let args = qb
        .build()
        .take_arguments()
        .map_err(sqlx::Error::Encode)?
        .unwrap_or_default();
    Ok((sql, args))
}

#[cfg(test)]
mod tests {
    use super::number_placeholders as n;

    #[test]
    fn numbers_placeholders_in_order() {
        assert_eq!(n("SELECT 1"), "SELECT 1");
        assert_eq!(
            n("UPDATE t SET a = ?, b = ? WHERE id = ?"),
            "UPDATE t SET a = $1, b = $2 WHERE id = $3"
        );
        assert_eq!(n("VALUES (?,?),(?,?)"), "VALUES ($1,$2),($3,$4)");
        assert_eq!(n("?"), "$1");
        let many = ["?"; 12].join(",");
        assert!(n(&many).ends_with("$11,$12"));
    }

    #[test]
    fn skips_quoted_text_and_comments() {
        assert_eq!(
            n("SELECT '?', \"a?b\", x FROM t WHERE y = ?"),
            "SELECT '?', \"a?b\", x FROM t WHERE y = $1"
        );
        assert_eq!(
            n("SELECT 'it''s ?' WHERE a = ? AND b = 'x'"),
            "SELECT 'it''s ?' WHERE a = $1 AND b = 'x'"
        );
        assert_eq!(
            n("SELECT a -- why? because\nFROM t WHERE b = ?"),
            "SELECT a -- why? because\nFROM t WHERE b = $1"
        );
        assert_eq!(n("SELECT a - ? FROM t"), "SELECT a - $1 FROM t");
        // Unterminated quote: copied as is, nothing numbered inside.
        assert_eq!(n("WHERE a = ? AND b = 'x?"), "WHERE a = $1 AND b = 'x?");
    }
}
