//! Column encodings shared by all tables and both engines: unix-millisecond times (BIGINT), 0/1 booleans
//! (INTEGER on SQLite, SMALLINT on PostgreSQL) and JSON text.

use crate::StoreError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Display;
use std::str::FromStr;

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

pub(crate) fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("encode json: {e}")))
}

pub(crate) fn opt_json<T: Serialize>(v: Option<&T>) -> Result<Option<String>, StoreError> {
    v.map(to_json).transpose()
}

/// Typed column readers with the store's encodings.
pub(crate) trait RowExt {
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn flag(&self, col: &str) -> Result<bool, StoreError>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError>;
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    fn json<T: DeserializeOwned>(&self, col: &str) -> Result<T, StoreError>;
    fn opt_json<T: DeserializeOwned>(&self, col: &str) -> Result<Option<T>, StoreError>;
    /// Text parsed with `T`'s `FromStr`; text it does not take is `Corrupt`.
    fn parsed<T: FromStr<Err: Display>>(&self, col: &str) -> Result<T, StoreError>;
    /// [`RowExt::parsed`] of a nullable column.
    fn opt_parsed<T: FromStr<Err: Display>>(&self, col: &str) -> Result<Option<T>, StoreError>;
}

impl RowExt for AnyRow {
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(col)?)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(col)?)
    }

    fn text(&self, col: &str) -> Result<String, StoreError> {
        Ok(self.try_get(col)?)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(col)?)
    }

    fn flag(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.int(col)? != 0)
    }

    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        from_ms(self.int(col)?)
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_int(col)?.map(from_ms).transpose()
    }

    fn json<T: DeserializeOwned>(&self, col: &str) -> Result<T, StoreError> {
        let s = self.text(col)?;
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
    }

    fn opt_json<T: DeserializeOwned>(&self, col: &str) -> Result<Option<T>, StoreError> {
        self.opt_text(col)?
            .map(|s| {
                serde_json::from_str(&s)
                    .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
            })
            .transpose()
    }

    fn parsed<T: FromStr<Err: Display>>(&self, col: &str) -> Result<T, StoreError> {
        self.text(col)?
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
    }

    fn opt_parsed<T: FromStr<Err: Display>>(&self, col: &str) -> Result<Option<T>, StoreError> {
        self.opt_text(col)?
            .map(|s| {
                s.parse()
                    .map_err(|e| StoreError::Corrupt(format!("column {col}: {e}")))
            })
            .transpose()
    }
}
