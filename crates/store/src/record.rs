//! What the table modules share: a record type's table, columns and row decoder ([`Record`], declared once per
//! type with [`record!`]), and the query shapes built on them: all rows, one row or `NotFound`, a page with its
//! total, a write that must touch a row, the `UPDATE` of a partial patch, and one statement run with a tuple of
//! values bound to its placeholders ([`exec`]).

use crate::backend::{Backend, finish};
use crate::{Store, StoreError};
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, Arguments as _, Encode, QueryBuilder, Type};

/// A row type of one table.
pub(crate) trait Record: Sized {
    /// The table it is read from.
    const TABLE: &'static str;
    /// How whole-table reads order it (an `ORDER BY` list).
    const ORDER: &'static str;
    /// Its columns as a `SELECT` or `RETURNING` lists them.
    const COLS: &'static str;
    /// Decodes one row that has [`Record::COLS`].
    fn from_row(row: &AnyRow) -> Result<Self, StoreError>;
}

/// Implements [`Record`] for a struct from one list of its fields, so the column list and the decoder cannot
/// drift apart. Each entry is `field: reader`, reading the column of the field's name with that
/// [`crate::codec::RowExt`] method, or `field: reader("column")` for another column; `=> f` converts what was
/// read. An optional `nested field: Type { … }` block reads a struct-valued field from more columns of the same
/// row, and `computed { field: expr, }` sets fields that have no column.
///
/// `order "…"` after the table sets [`Record::ORDER`] (default `id`); `upsert key` also implements [`Upsert`] on
/// the key field `key`, binding every field as it is (so only for records of integers and texts).
macro_rules! record {
    (
        $ty:ident in $table:literal $(order $order:literal)? $(upsert $key:ident)? {
            $($field:ident: $read:ident $(($col:literal))? $(=> $map:expr)?,)*
        }
        $(nested $nest:ident: $nty:ident { $($nfield:ident: $nread:ident($ncol:literal),)* })?
        $(computed { $($other:ident: $value:expr,)* })?
    ) => {
        impl $crate::record::Record for $ty {
            const TABLE: &'static str = $table;
            const ORDER: &'static str = record!(@order $($order)?);
            const COLS: &'static str = {
                let all = concat!(
                    $(record!(@col $field $(, $col)?), ", ",)*
                    $($($ncol, ", ",)*)?
                );
                all.split_at(all.len() - 2).0
            };

            fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, $crate::StoreError> {
                use $crate::codec::RowExt as _;
                Ok($ty {
                    $($field: record!(@read row, $read, record!(@col $field $(, $col)?) $(, $map)?),)*
                    $($nest: $nty { $($nfield: row.$nread($ncol)?,)* },)?
                    $($($other: $value,)*)?
                })
            }
        }

        record!(@upsert $ty [$($key)?] $($field)*);
    };
    (@upsert $ty:ident [] $($field:ident)*) => {};
    (@upsert $ty:ident [$key:ident] $($field:ident)*) => {
        impl $crate::record::Upsert for $ty {
            const KEY: &'static str = stringify!($key);

            fn key(&self) -> &str {
                &self.$key
            }

            fn bind_all<'q>(
                &'q self,
                query: $crate::record::AnyQuery<'q>,
            ) -> $crate::record::AnyQuery<'q> {
                query$(.bind(&self.$field))*
            }
        }
    };
    (@order) => { "id" };
    (@order $order:literal) => { $order };
    (@col $field:ident) => { stringify!($field) };
    (@col $field:ident, $col:literal) => { $col };
    (@read $row:ident, $read:ident, $col:expr) => { $row.$read($col)? };
    (@read $row:ident, $read:ident, $col:expr, $map:expr) => { ($map)($row.$read($col)?) };
}
pub(crate) use record;

/// The public reads and writes of a table of [`Upsert`] records (groups, prices), named by the caller: every row
/// in its [`Record::ORDER`], the row with a key (or `NotFound`), and insert-or-replace on the key.
macro_rules! keyed_api {
    ($ty:ident: list $list:ident, get $get:ident, upsert $upsert:ident) => {
        impl $crate::Store {
            #[doc = concat!("Every ", stringify!($ty), " row, in the table's order.")]
            pub async fn $list(&self) -> Result<Vec<$ty>, $crate::StoreError> {
                self.list_all().await
            }

            #[doc = concat!("The ", stringify!($ty), " with this key; `NotFound` when there is none.")]
            pub async fn $get(&self, key: &str) -> Result<$ty, $crate::StoreError> {
                let column = <$ty as $crate::record::Upsert>::KEY;
                self.get_by(column, key.to_owned()).await
            }

            #[doc = concat!("Inserts the ", stringify!($ty), " or replaces every field of the one with its key.")]
            pub async fn $upsert(&self, record: &$ty) -> Result<$ty, $crate::StoreError> {
                self.upsert(record).await
            }
        }
    };
}
pub(crate) use keyed_api;

/// Every row of `T`'s table, in its [`Record::ORDER`].
pub(crate) async fn fetch_all<T: Record>(conn: &mut AnyConnection) -> Result<Vec<T>, StoreError> {
    let sql = format!("SELECT {} FROM {} ORDER BY {}", T::COLS, T::TABLE, T::ORDER);
    let rows = sqlx::query(&sql).fetch_all(conn).await?;
    rows.iter().map(T::from_row).collect()
}

/// A record stored by insert-or-replace on its key column (a group by name, a price by model).
pub(crate) trait Upsert: Record + Sync {
    /// The key column (the first of [`Record::COLS`]).
    const KEY: &'static str;
    fn key(&self) -> &str;
    /// Binds the record's values in [`Record::COLS`] order.
    fn bind_all<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

/// A query with `?` arguments bound to it.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Inserts `record`, or replaces every other column of the row with its key, on `conn` (which may be inside a
/// transaction); returns the stored row.
pub(crate) async fn upsert_in<T: Upsert>(
    conn: &mut AnyConnection,
    record: &T,
) -> Result<T, StoreError> {
    let cols: Vec<&str> = T::COLS.split(", ").collect();
    let values = vec!["?"; cols.len()].join(", ");
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| **c != T::KEY)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {updates} \
         RETURNING {cols}",
        table = T::TABLE,
        cols = T::COLS,
        key = T::KEY,
        updates = updates.join(", "),
    );
    let sql = Backend::of(conn).sql(&sql).into_owned();
    let row = record.bind_all(sqlx::query(&sql)).fetch_one(conn).await?;
    T::from_row(&row)
}

/// `NotFound` when a write touched no row (the row it names is gone).
pub(crate) fn touched_one(done: AnyQueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A value bound to a query by the helpers below (ids and names, owned so the query may outlive the caller's).
pub(crate) trait Param: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static {}
impl<T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static> Param for T {}

/// The values of one statement's `?` placeholders, in order: a tuple of owned (or `'static`) values, `(id,)` for
/// one.
pub(crate) trait Params {
    fn into_args(self) -> Result<AnyArguments<'static>, StoreError>;
}

macro_rules! params_tuple {
    ($($ty:ident $value:ident),+) => {
        impl<$($ty: Encode<'static, Any> + Type<Any> + 'static),+> Params for ($($ty,)+) {
            fn into_args(self) -> Result<AnyArguments<'static>, StoreError> {
                let ($($value,)+) = self;
                let mut args = AnyArguments::default();
                $(args.add($value).map_err(sqlx::Error::Encode)?;)+
                Ok(args)
            }
        }
    };
}
params_tuple!(A a);
params_tuple!(A a, B b);
params_tuple!(A a, B b, C c);
params_tuple!(A a, B b, C c, D d);
params_tuple!(A a, B b, C c, D d, E e);
params_tuple!(A a, B b, C c, D d, E e, F f);

/// Runs one statement (written with `?`, see [`crate::backend`]) on `conn`, which may be inside the caller's
/// transaction, with `params` bound in order; returns how many rows it touched.
pub(crate) async fn exec(
    conn: &mut AnyConnection,
    sql: &str,
    params: impl Params,
) -> Result<u64, StoreError> {
    let sql = Backend::of(conn).sql(sql);
    let done = sqlx::query_with(&sql, params.into_args()?)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Appends ` AND column = value` to a `WHERE` clause when the filter sets `value`.
pub(crate) fn and_eq(qb: &mut QueryBuilder<'_, Any>, column: &str, value: Option<impl Param>) {
    if let Some(v) = value {
        qb.push(format!(" AND {column} = ")).push_bind(v);
    }
}

impl Store {
    /// Every row of `T`'s table, in its [`Record::ORDER`].
    pub(crate) async fn list_all<T: Record>(&self) -> Result<Vec<T>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_all(&mut conn).await
    }

    /// Inserts `record` or replaces the row with its key (see [`upsert_in`]).
    pub(crate) async fn upsert<T: Upsert>(&self, record: &T) -> Result<T, StoreError> {
        let mut conn = self.write.acquire().await?;
        upsert_in(&mut conn, record).await
    }

    /// The row of `T`'s table whose `column` is `value`; `NotFound` when there is none.
    pub(crate) async fn get_by<T: Record>(
        &self,
        column: &str,
        value: impl Param,
    ) -> Result<T, StoreError> {
        let sql = format!("SELECT {} FROM {} WHERE {column} = ?", T::COLS, T::TABLE);
        let row = sqlx::query(&self.sql(&sql))
            .bind(value)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        T::from_row(&row)
    }

    /// Deletes the row of `table` whose `column` is `value`; `NotFound` when there is none.
    pub(crate) async fn delete_by(
        &self,
        table: &str,
        column: &str,
        value: impl Param,
    ) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {table} WHERE {column} = ?");
        let done = sqlx::query(&self.sql(&sql))
            .bind(value)
            .execute(&self.write)
            .await?;
        touched_one(done)
    }

    /// One page of `T`'s rows in `order`, and how many rows match in all. `filter` appends the same ` WHERE …`
    /// to both statements; `limit` and `offset` are bound as given (callers clamp them).
    pub(crate) async fn page<T: Record>(
        &self,
        filter: impl Fn(&mut QueryBuilder<'_, Any>),
        order: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<T>, i64), StoreError> {
        let mut count = QueryBuilder::new(format!("SELECT COUNT(*) FROM {}", T::TABLE));
        filter(&mut count);
        let mut page = QueryBuilder::new(format!("SELECT {} FROM {}", T::COLS, T::TABLE));
        filter(&mut page);
        page.push(format!(" ORDER BY {order} LIMIT "))
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset.max(0));

        let mut tx = self.read_tx().await?;
        let (count_sql, count_args) = finish(self.backend, &mut count)?;
        let total: i64 = sqlx::query_scalar_with(&count_sql, count_args)
            .fetch_one(&mut *tx)
            .await?;
        let (page_sql, page_args) = finish(self.backend, &mut page)?;
        let rows = sqlx::query_with(&page_sql, page_args)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let records = rows.iter().map(T::from_row).collect::<Result<_, _>>()?;
        Ok((records, total))
    }
}

/// `UPDATE table SET …` of the fields a partial patch sets, for one row by id.
pub(crate) struct Update {
    qb: QueryBuilder<'static, Any>,
    /// Whether a `SET` item has been written (the next one needs a comma).
    any: bool,
}

impl Update {
    pub(crate) fn new(table: &str) -> Self {
        Self {
            qb: QueryBuilder::new(format!("UPDATE {table} SET ")),
            any: false,
        }
    }

    /// Starts the next `SET` item with `assignment`.
    fn item(&mut self, assignment: &str) -> &mut QueryBuilder<'static, Any> {
        if self.any {
            self.qb.push(", ");
        }
        self.any = true;
        self.qb.push(assignment)
    }

    /// `column = value` when the patch sets it (`Some`); nothing otherwise.
    pub(crate) fn set(&mut self, column: &str, value: Option<impl Param>) -> &mut Self {
        if let Some(v) = value {
            self.item(&format!("{column} = ")).push_bind(v);
        }
        self
    }

    /// A fixed assignment such as `health = 'healthy'`.
    pub(crate) fn raw(&mut self, assignment: &str) -> &mut Self {
        self.item(assignment);
        self
    }

    /// Runs it for row `id` on the write pool and returns the updated row; `NotFound` if the row is gone.
    /// `conflict` names what a unique-constraint violation is about (see [`StoreError::from_write`]).
    pub(crate) async fn returning<T: Record>(
        mut self,
        store: &Store,
        id: i64,
        conflict: impl FnOnce(&str) -> String,
    ) -> Result<T, StoreError> {
        self.finish_where(id)
            .push(format!(" RETURNING {}", T::COLS));
        let (sql, args) = finish(store.backend, &mut self.qb)?;
        let row = sqlx::query_with(&sql, args)
            .fetch_optional(&store.write)
            .await
            .map_err(|e| StoreError::from_write(e, conflict))?
            .ok_or(StoreError::NotFound)?;
        T::from_row(&row)
    }

    /// Runs it for row `id` on the write pool; `NotFound` if the row is gone.
    pub(crate) async fn run(self, store: &Store, id: i64) -> Result<(), StoreError> {
        let mut conn = store.write.acquire().await?;
        self.execute(&mut conn, id, |_| String::new()).await
    }

    /// Runs it for row `id` on `conn` (inside the caller's transaction); `NotFound` if the row is gone.
    pub(crate) async fn execute(
        mut self,
        conn: &mut AnyConnection,
        id: i64,
        conflict: impl FnOnce(&str) -> String,
    ) -> Result<(), StoreError> {
        self.finish_where(id);
        let (sql, args) = finish(Backend::of(conn), &mut self.qb)?;
        let done = sqlx::query_with(&sql, args)
            .execute(conn)
            .await
            .map_err(|e| StoreError::from_write(e, conflict))?;
        touched_one(done)
    }

    /// ` WHERE id = ?`, after `id = id` when the patch set nothing (keeps the statement valid).
    fn finish_where(&mut self, id: i64) -> &mut QueryBuilder<'static, Any> {
        if !self.any {
            self.item("id = id");
        }
        self.qb.push(" WHERE id = ").push_bind(id)
    }
}
