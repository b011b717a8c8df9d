//! Users: CRUD, paging and atomic top-up.

use crate::backend::finish;
use crate::codec::{RowExt, bool_int, now_ms};
use crate::{NewUser, Store, StoreError, User, UserPatch};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, QueryBuilder};

pub(crate) const USER_COLS: &str =
    "id, name, password_hash, group_name, balance, spent, enabled, role, created_at";

const ROLE_ADMIN: &str = "admin";
const ROLE_USER: &str = "user";

fn role(admin: bool) -> &'static str {
    if admin { ROLE_ADMIN } else { ROLE_USER }
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.int("id")?,
        name: row.text("name")?,
        password_hash: row.opt_text("password_hash")?,
        group: row.text("group_name")?,
        balance: row.int("balance")?,
        spent: row.int("spent")?,
        enabled: row.flag("enabled")?,
        admin: row.text("role")? == ROLE_ADMIN,
        created_at: row.time("created_at")?,
    })
}

/// All users ordered by id.
pub(crate) async fn fetch_users(conn: &mut AnyConnection) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(user_from_row).collect()
}

fn name_conflict(name: &str) -> impl FnOnce(&str) -> String + '_ {
    move |_| format!("user {name}")
}

impl Store {
    /// One page ordered by id, plus the total number of users.
    pub async fn list_users(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), StoreError> {
        let mut tx = self.read_tx().await?;
        let total: i64 = sqlx::query_scalar(&self.sql("SELECT COUNT(*) FROM users"))
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query(&self.sql(&format!(
            "SELECT {USER_COLS} FROM users ORDER BY id LIMIT ? OFFSET ?"
        )))
        .bind(limit.max(0))
        .bind(offset.max(0))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let users = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
        Ok((users, total))
    }

    pub async fn get_user(&self, id: i64) -> Result<User, StoreError> {
        let row = sqlx::query(&self.sql(&format!("SELECT {USER_COLS} FROM users WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    pub async fn get_user_by_name(&self, name: &str) -> Result<User, StoreError> {
        let row = sqlx::query(&self.sql(&format!("SELECT {USER_COLS} FROM users WHERE name = ?")))
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    /// `Conflict` when the name is taken.
    pub async fn create_user(&self, u: &NewUser) -> Result<User, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "INSERT INTO users (name, password_hash, group_name, balance, spent, enabled, role, created_at) \
             VALUES (?, ?, ?, ?, 0, ?, ?, ?) RETURNING {USER_COLS}"
        )))
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(&u.group)
        .bind(u.balance)
        .bind(bool_int(u.enabled))
        .bind(role(u.admin))
        .bind(now_ms())
        .fetch_one(&self.write)
        .await
        .map_err(|e| StoreError::from_write(e, name_conflict(&u.name)))?;
        user_from_row(&row)
    }

    /// Applies the fields that are `Some`; `NotFound` if the user is gone, `Conflict` on a taken name.
    pub async fn update_user(&self, id: i64, p: &UserPatch) -> Result<User, StoreError> {
        let mut qb: QueryBuilder<'_, Any> = QueryBuilder::new("UPDATE users SET ");
        let mut sets = qb.separated(", ");
        if let Some(v) = &p.name {
            sets.push("name = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = &p.password_hash {
            sets.push("password_hash = ")
                .push_bind_unseparated(v.clone());
        }
        if let Some(v) = &p.group {
            sets.push("group_name = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = p.balance {
            sets.push("balance = ").push_bind_unseparated(v);
        }
        if let Some(v) = p.enabled {
            sets.push("enabled = ").push_bind_unseparated(bool_int(v));
        }
        if let Some(v) = p.admin {
            sets.push("role = ").push_bind_unseparated(role(v));
        }
        // Keeps the statement valid when the patch is empty.
        sets.push("id = id");
        qb.push(" WHERE id = ")
            .push_bind(id)
            .push(format!(" RETURNING {USER_COLS}"));
        let (sql, args) = finish(self.backend, &mut qb)?;
        let row = sqlx::query_with(&sql, args)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| {
                StoreError::from_write(e, |_| {
                    format!("user {}", p.name.as_deref().unwrap_or_default())
                })
            })?
            .ok_or(StoreError::NotFound)?;
        user_from_row(&row)
    }

    /// Deletes the user and (by cascade) its keys.
    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        // The user row first, then its keys: the ledger's lock order (see `ledger`), so this cannot
        // deadlock against a concurrent reservation on PostgreSQL.
        let done = sqlx::query(&self.sql("DELETE FROM users WHERE id = ?"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(&self.sql("DELETE FROM api_keys WHERE user_id = ?"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `balance += amount` in a single statement (negative amounts deduct). `Overflow` (nothing written) when
    /// the sum would not fit in 64 bits.
    pub async fn topup_user(&self, id: i64, amount: i64) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        let user = add_to_balance(self, &mut tx, id, amount).await?;
        tx.commit().await?;
        Ok(user)
    }
}

/// `balance += amount` for user `id` inside `tx`, refusing a sum that would overflow (SQLite would store it as a
/// float). `NotFound` when the user does not exist.
pub(crate) async fn add_to_balance(
    store: &Store,
    tx: &mut sqlx::Transaction<'static, Any>,
    id: i64,
    amount: i64,
) -> Result<User, StoreError> {
    // The balance may not pass i64::MAX - amount (adding) or i64::MIN - amount (deducting).
    let (guard, bound) = if amount >= 0 {
        ("balance <= ?", i64::MAX - amount)
    } else {
        ("balance >= ?", i64::MIN - amount)
    };
    let row = sqlx::query(&store.sql(&format!(
        "UPDATE users SET balance = balance + ? WHERE id = ? AND {guard} RETURNING {USER_COLS}"
    )))
    .bind(amount)
    .bind(id)
    .bind(bound)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => user_from_row(&row),
        None => {
            let exists: Option<i64> =
                sqlx::query_scalar(&store.sql("SELECT id FROM users WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
            Err(if exists.is_some() {
                StoreError::Overflow
            } else {
                StoreError::NotFound
            })
        }
    }
}
