//! Users: CRUD, paging and atomic top-up.

use crate::codec::{bool_int, now_ms};
use crate::record::{Record, Update, record, touched_one};
use crate::{NewUser, Store, StoreError, User, UserPatch};
use sqlx::Any;

const ROLE_ADMIN: &str = "admin";
const ROLE_USER: &str = "user";

fn role(admin: bool) -> &'static str {
    if admin { ROLE_ADMIN } else { ROLE_USER }
}

record! {
    User in "users" {
        id: int,
        name: text,
        password_hash: opt_text,
        group: text("group_name"),
        balance: int,
        spent: int,
        enabled: flag,
        admin: text("role") => |role: String| role == ROLE_ADMIN,
        created_at: time,
    }
}

const USER_COLS: &str = User::COLS;

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
        self.page(|_| {}, "id", limit.max(0), offset).await
    }

    pub async fn get_user(&self, id: i64) -> Result<User, StoreError> {
        self.get_by("id", id).await
    }

    pub async fn get_user_by_name(&self, name: &str) -> Result<User, StoreError> {
        self.get_by("name", name.to_owned()).await
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
        User::from_row(&row)
    }

    /// Applies the fields that are `Some`; `NotFound` if the user is gone, `Conflict` on a taken name.
    pub async fn update_user(&self, id: i64, p: &UserPatch) -> Result<User, StoreError> {
        let mut update = Update::new("users");
        update
            .set("name", p.name.clone())
            .set("password_hash", p.password_hash.clone())
            .set("group_name", p.group.clone())
            .set("balance", p.balance)
            .set("enabled", p.enabled.map(bool_int))
            .set("role", p.admin.map(|a| role(a).to_owned()));
        let name = p.name.as_deref().unwrap_or_default();
        update.returning(self, id, name_conflict(name)).await
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
        touched_one(done)?;
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
        Some(row) => User::from_row(&row),
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
