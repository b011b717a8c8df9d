//! What the admin handlers of addressable records share: reading, creating, changing and deleting one. The path names the record
//! (a numeric id — anything else cannot name one: 404 — or a name), the store's `NotFound` becomes a 404 naming it
//! (`API key 7 not found.`, ``Group `vip` not found.``), and the relay's catalog is reloaded after a delete of
//! something it holds — after every create, change or delete. A resource declares what it is called and which store
//! calls load and remove it ([`record!`]), and how its input becomes a new record or a change ([`Create`],
//! [`Update`]: the checks are the resource's own); [`get_route!`], [`create_route!`], [`update_route!`] and
//! [`delete_route!`] then write the handler together with its `#[utoipa::path]` (its route and its documentation),
//! so what every admin read or write shares — security, the refusals, 400 for a malformed path or body, 404, 413 —
//! is written once, here. API keys are created by their own handler (the answer carries the secret, once), and
//! the self-service key writes never come here (`account::keys`: an owner's patch cannot reach operator fields).

use super::extract::{List, Params, PathParam, not_found};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use http::StatusCode;
use serde::Serialize;
use std::future::Future;
use store::{Store, StoreError};

/// A kind of record the admin API addresses by a path parameter.
pub trait Record {
    /// Whether the relay's catalog holds it, so that a delete must reload it.
    const IN_CATALOG: bool;
    /// What the path names it by; `describe` names it in a 404 (`Channel 7`, ``Group `vip` ``).
    type Key: Send + Sync;
    fn key(path: &PathParam) -> Result<Self::Key, ApiError>;
    fn describe(key: &Self::Key) -> String;
}

/// A record the API shows as `View`.
pub trait Load: Record {
    type Stored;
    type View: Serialize + From<Self::Stored>;
    fn load(
        store: &Store,
        key: &Self::Key,
    ) -> impl Future<Output = Result<Self::Stored, StoreError>> + Send;
}

/// A record the API deletes.
pub trait Remove: Record {
    /// Refuses the delete before the store is asked (the `default` group can never go).
    fn refuse(_key: &Self::Key) -> Result<(), ApiError> {
        Ok(())
    }
    /// The answer when the store refuses because something still uses the record.
    fn in_use(key: &Self::Key) -> ApiError {
        ApiError::Conflict(format!("{} is still in use.", Self::describe(key)))
    }
    fn remove(
        store: &Store,
        key: &Self::Key,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Records listed by `GET …`: the whole list (unpaged), or pages (`limit`, `offset`) filtered by `FILTERS`.
pub trait Listed: Record {
    type Item;
    type View: Serialize + From<Self::Item>;
    /// Query parameters besides `limit` and `offset`; any other is a 400 naming it.
    const FILTERS: &'static [&'static str];
    const PAGED: bool;
    /// What matches `params` (checked to hold only the allowed names; a paged list reads `params.page()`), and
    /// how many match in all.
    fn fetch(
        store: &Store,
        params: &Params,
    ) -> impl Future<Output = Result<List<Self::Item>, ApiError>> + Send;
}

/// A record created from a JSON body: `prepare` checks the input (and may read the store: a group must exist),
/// `insert` stores it (a taken name is the store's `Conflict`: 409).
pub trait Create: Load {
    type Input;
    type New: Sync;
    fn prepare(
        state: &AppState,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::New, ApiError>> + Send;
    fn insert(
        store: &Store,
        new: &Self::New,
    ) -> impl Future<Output = Result<Self::Stored, StoreError>> + Send;
}

/// A record changed by a JSON body (`PATCH` and `PUT` alike: absent fields stay as they are): `prepare` checks
/// the change, `save` applies it (a missing record: 404).
pub trait Update: Load {
    type Input;
    type Patch: Sync;
    fn prepare(
        state: &AppState,
        key: &Self::Key,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Patch, ApiError>> + Send;
    fn save(
        store: &Store,
        key: &Self::Key,
        patch: &Self::Patch,
    ) -> impl Future<Output = Result<Self::Stored, StoreError>> + Send;
}

/// The numeric id in the path, or 404 naming what was asked for.
pub fn numeric_id(path: &PathParam, name: &str) -> Result<i64, ApiError> {
    path.id(name)
}

/// `GET …`: the list (or page) as views, with the total.
pub async fn list<R: Listed>(
    state: &AppState,
    params: &Params,
) -> Result<Json<List<R::View>>, ApiError> {
    let paging: &[&str] = if R::PAGED { &["limit", "offset"] } else { &[] };
    let allowed: Vec<&str> = R::FILTERS.iter().chain(paging).copied().collect();
    let found = R::fetch(&state.store, params.only(&allowed)?).await?;
    Ok(Json(List {
        data: found.data.into_iter().map(Into::into).collect(),
        total: found.total,
    }))
}

/// `GET …/{key}`: the record as its view.
pub async fn get<R: Load>(state: &AppState, path: &PathParam) -> Result<Json<R::View>, ApiError> {
    let key = R::key(path)?;
    let stored = R::load(&state.store, &key)
        .await
        .map_err(not_found(|| R::describe(&key)))?;
    Ok(Json(stored.into()))
}

/// Reloads the relay's catalog when it holds `R`'s records.
async fn changed<R: Record>(state: &AppState) {
    if R::IN_CATALOG {
        state.refresh_catalog().await;
    }
}

/// `POST …`: 201 with the new record.
pub async fn create<R: Create>(
    state: &AppState,
    input: R::Input,
) -> Result<(StatusCode, Json<R::View>), ApiError> {
    let new = R::prepare(state, input).await?;
    let stored = R::insert(&state.store, &new).await?;
    changed::<R>(state).await;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// A record that `PUT`/`PATCH …/{key}` creates when it is missing (201) and changes when it is there (200):
/// `merge` checks the input against the path's key and the stored record (`None`: a new one) and gives the whole
/// record to store; `replace` is `PUT`'s "absent fields are reset" where the resource distinguishes it.
pub trait Upsert: Load {
    type Input;
    type Whole: Sync;
    fn merge(
        key: &Self::Key,
        existing: Option<Self::Stored>,
        input: Self::Input,
        replace: bool,
    ) -> Result<Self::Whole, ApiError>;
    fn upsert(
        store: &Store,
        whole: &Self::Whole,
    ) -> impl Future<Output = Result<Self::Stored, StoreError>> + Send;
}

/// `PUT`/`PATCH …/{key}` of an [`Upsert`] record: 201 with the new record, or 200 with the changed one.
pub async fn upsert<R: Upsert>(
    state: &AppState,
    path: &PathParam,
    input: R::Input,
    replace: bool,
) -> Result<(StatusCode, Json<R::View>), ApiError> {
    let key = R::key(path)?;
    let existing = match R::load(&state.store, &key).await {
        Ok(stored) => Some(stored),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let whole = R::merge(&key, existing, input, replace)?;
    let stored = R::upsert(&state.store, &whole).await?;
    changed::<R>(state).await;
    Ok((status, Json(stored.into())))
}

/// `PATCH`/`PUT …/{key}`: the changed record.
pub async fn update<R: Update>(
    state: &AppState,
    path: &PathParam,
    input: R::Input,
) -> Result<Json<R::View>, ApiError> {
    let key = R::key(path)?;
    let patch = R::prepare(state, &key, input).await?;
    let stored = R::save(&state.store, &key, &patch)
        .await
        .map_err(not_found(|| R::describe(&key)))?;
    changed::<R>(state).await;
    Ok(Json(stored.into()))
}

/// `DELETE …/{key}`: 204, the catalog reloaded when it held the record.
pub async fn delete<R: Remove>(state: &AppState, path: &PathParam) -> Result<StatusCode, ApiError> {
    let key = R::key(path)?;
    R::refuse(&key)?;
    R::remove(&state.store, &key).await.map_err(|e| match e {
        StoreError::Conflict(_) => R::in_use(&key),
        other => not_found(|| R::describe(&key))(other),
    })?;
    changed::<R>(state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Declares a [`Record`] and its store calls:
/// `record!(Channels, "Channel", by id, in_catalog = true, load = get_channel => Channel as ChannelView,
/// remove = delete_channel)`; `by name` for records named in the path (`/groups/{name}`).
macro_rules! record {
    ($ty:ident, $name:literal, by id, in_catalog = $cat:literal $(, load = $load:ident => $stored:ty as $view:ty)? $(, remove = $remove:ident)?) => {
        $crate::admin::crud::record!(@impl $ty, $name, $cat, i64,
            |path| $crate::admin::crud::numeric_id(path, $name),
            |key| format!("{} {key}", $name),
            |key| *key
            $(, load = $load => $stored as $view)? $(, remove = $remove)?);
    };
    ($ty:ident, $name:literal, by name, in_catalog = $cat:literal $(, load = $load:ident => $stored:ty as $view:ty)? $(, remove = $remove:ident)?) => {
        $crate::admin::crud::record!(@impl $ty, $name, $cat, String,
            |path| Ok(path.0.clone()),
            |key| format!("{} `{key}`", $name),
            |key| key.as_str()
            $(, load = $load => $stored as $view)? $(, remove = $remove)?);
    };
    (@impl $ty:ident, $name:literal, $cat:literal, $key:ty, |$p:ident| $parse:expr, |$k:ident| $describe:expr, |$a:ident| $arg:expr
        $(, load = $load:ident => $stored:ty as $view:ty)? $(, remove = $remove:ident)?) => {
        pub struct $ty;
        impl $crate::admin::crud::Record for $ty {
            const IN_CATALOG: bool = $cat;
            type Key = $key;
            fn key($p: &$crate::admin::extract::PathParam) -> Result<$key, $crate::error::ApiError> {
                $parse
            }
            fn describe($k: &$key) -> String {
                $describe
            }
        }
        $(impl $crate::admin::crud::Load for $ty {
            type Stored = $stored;
            type View = $view;
            fn load(
                store: &store::Store,
                $a: &$key,
            ) -> impl std::future::Future<Output = Result<$stored, store::StoreError>> + Send {
                store.$load($arg)
            }
        })?
        $(impl $crate::admin::crud::Remove for $ty {
            fn remove(
                store: &store::Store,
                $a: &$key,
            ) -> impl std::future::Future<Output = Result<(), store::StoreError>> + Send {
                store.$remove($arg)
            }
        })?
    };
}
pub(crate) use record;

/// [`Listed`] for records listed whole — unfiltered, unpaged — by one store call:
/// `whole_list!(Groups, list_groups => Group as Group)`.
macro_rules! whole_list {
    ($ty:ty, $list:ident => $item:ty as $view:ty) => {
        impl $crate::admin::crud::Listed for $ty {
            type Item = $item;
            type View = $view;
            const FILTERS: &'static [&'static str] = &[];
            const PAGED: bool = false;
            async fn fetch(
                store: &store::Store,
                _: &$crate::admin::extract::Params,
            ) -> Result<$crate::admin::extract::List<$item>, $crate::error::ApiError> {
                Ok($crate::admin::extract::List::all(store.$list().await?))
            }
        }
    };
}
pub(crate) use whole_list;

/// `pub async fn get` over [`get`] for `$record`, with its OpenAPI operation: `get_route!(Channels, "/channels/{id}",
/// "admin_get_channel", "channels", "id": i64 = "Channel id", ChannelView as ChannelView, "The channel", "No such
/// channel")` (the type after `as` is the documented schema).
macro_rules! get_route {
    ($(#[$doc:meta])* fn $name:ident, $record:ty, $path:literal, $op:literal, $tag:literal, $param:literal: $pty:ty = $pdesc:literal,
     $view:ty as $schema:ty, $found:literal, $missing:literal) => {
        $(#[$doc])*
        #[utoipa::path(
            get,
            path = $path,
            operation_id = $op,
            tag = $tag,
            params(($param = $pty, Path, description = $pdesc)),
            security(("bearer" = []), ("session" = [])),
            responses(
                (status = 200, description = $found, body = $schema),
                (status = 400, description = "Malformed path", body = $crate::admin::schemas::ErrorBody),
                (status = 404, description = $missing, body = $crate::admin::schemas::ErrorBody),
                $crate::admin::schemas::AdminReadRefusals,
            )
        )]
        pub async fn $name(
            _: $crate::admin::guard::Admin,
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            path: $crate::admin::extract::PathParam,
        ) -> Result<axum::Json<$view>, $crate::error::ApiError> {
            $crate::admin::crud::get::<$record>(&state, &path).await
        }
    };
}
pub(crate) use get_route;

/// `pub async fn delete` over [`delete`] for `$record`, with its OpenAPI operation (204, or 404 `$missing`, then
/// any further responses: a 409).
macro_rules! delete_route {
    ($(#[$doc:meta])* fn $name:ident, $record:ty, $path:literal, $op:literal, $tag:literal, $param:literal: $pty:ty = $pdesc:literal,
     $deleted:literal, $missing:literal $(, $extra:tt)* $(,)?) => {
        $(#[$doc])*
        #[utoipa::path(
            delete,
            path = $path,
            operation_id = $op,
            tag = $tag,
            params(($param = $pty, Path, description = $pdesc)),
            security(("bearer" = []), ("session" = [], "csrf" = [])),
            responses(
                (status = 204, description = $deleted),
                (status = 400, description = "Malformed path", body = $crate::admin::schemas::ErrorBody),
                (status = 404, description = $missing, body = $crate::admin::schemas::ErrorBody),
                $($extra,)*
                $crate::admin::schemas::AdminWriteRefusals,
            )
        )]
        pub async fn $name(
            _: $crate::admin::guard::Admin,
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            path: $crate::admin::extract::PathParam,
        ) -> Result<http::StatusCode, $crate::error::ApiError> {
            $crate::admin::crud::delete::<$record>(&state, &path).await
        }
    };
}
pub(crate) use delete_route;

/// `pub async fn create` over [`create`] for `$record`, with its OpenAPI operation: the input, the 201 schema, what
/// the input needs, what a 400 names, then any further responses (a 409).
macro_rules! create_route {
    ($(#[$doc:meta])* fn $name:ident, $record:ty, $path:literal, $op:literal, $tag:literal, $input:ty, $view:ty as $schema:ty,
     $needs:literal, $created:literal, $invalid:literal $(, $extra:tt)* $(,)?) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $op,
            tag = $tag,
            request_body(content = $input, description = $needs),
            security(("bearer" = []), ("session" = [], "csrf" = [])),
            responses(
                (status = 201, description = $created, body = $schema),
                (status = 400, description = $invalid, body = $crate::admin::schemas::ErrorBody),
                $($extra,)*
                (status = 413, description = "Body over the size limit", body = $crate::admin::schemas::ErrorBody),
                $crate::admin::schemas::AdminWriteRefusals,
            )
        )]
        pub async fn $name(
            _: $crate::admin::guard::Admin,
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            $crate::admin::extract::JsonBody(input): $crate::admin::extract::JsonBody<$input>,
        ) -> Result<(http::StatusCode, axum::Json<$view>), $crate::error::ApiError> {
            $crate::admin::crud::create::<$record>(&state, input).await
        }
    };
}
pub(crate) use create_route;

/// The handler of a write addressed by a path parameter with a JSON body, and its `#[utoipa::path]`: what
/// [`update_route!`] and [`upsert_route!`] share (security, the body's 413, the guard's refusals). `$responses` are
/// the operation's own; `|state, path, input| body` is the handler's body over its extracted parts.
macro_rules! path_write {
    ($(#[$doc:meta])* fn $name:ident, [$($method:tt)*], $path:literal, $op:literal, $tag:literal,
     $param:literal: $pty:ty = $pdesc:literal, $input:ty = $changes:literal, [$($responses:tt)*], $ret:ty,
     |$state:ident, $p:ident, $i:ident| $body:expr) => {
        $(#[$doc])*
        #[utoipa::path(
            $($method)*,
            path = $path,
            operation_id = $op,
            tag = $tag,
            params(($param = $pty, Path, description = $pdesc)),
            request_body(content = $input, description = $changes),
            security(("bearer" = []), ("session" = [], "csrf" = [])),
            responses(
                $($responses)*
                (status = 413, description = "Body over the size limit", body = $crate::admin::schemas::ErrorBody),
                $crate::admin::schemas::AdminWriteRefusals,
            )
        )]
        pub async fn $name(
            _: $crate::admin::guard::Admin,
            axum::extract::State($state): axum::extract::State<$crate::state::AppState>,
            $p: $crate::admin::extract::PathParam,
            $crate::admin::extract::JsonBody($i): $crate::admin::extract::JsonBody<$input>,
        ) -> Result<$ret, $crate::error::ApiError> {
            $body
        }
    };
}
pub(crate) use path_write;

/// `pub async fn update` (PATCH and PUT) over [`update`] for `$record`, with its OpenAPI operation.
macro_rules! update_route {
    ($(#[$doc:meta])* fn $name:ident, $record:ty, $path:literal, $op:literal, $tag:literal, $param:literal: $pty:ty = $pdesc:literal,
     $input:ty = $changes:literal, $view:ty as $schema:ty, $updated:literal, $invalid:literal, $missing:literal
     $(, $extra:tt)* $(,)?) => {
        $crate::admin::crud::path_write!(
            $(#[$doc])* fn $name, [method(patch, put)], $path, $op, $tag, $param: $pty = $pdesc, $input = $changes,
            [
                (status = 200, description = $updated, body = $schema),
                (status = 400, description = $invalid, body = $crate::admin::schemas::ErrorBody),
                (status = 404, description = $missing, body = $crate::admin::schemas::ErrorBody),
                $($extra,)*
            ],
            axum::Json<$view>,
            |state, path, input| $crate::admin::crud::update::<$record>(&state, &path, input).await
        );
    };
}
pub(crate) use update_route;

/// `pub async fn list` over [`list`] for `$record`, with its OpenAPI operation: the query parameters (a
/// [`crate::admin::schemas::Page`] among them when paged), the list schema and what it holds, what a 400 names.
macro_rules! list_route {
    ($(#[$doc:meta])* fn $name:ident, $record:ty, $path:literal, $op:literal, $tag:literal, [$($params:tt)*],
     $view:ty as $schema:ty, $listed:literal, $invalid:literal) => {
        $(#[$doc])*
        #[utoipa::path(
            get,
            path = $path,
            operation_id = $op,
            tag = $tag,
            params($($params)*),
            security(("bearer" = []), ("session" = [])),
            responses(
                (status = 200, description = $listed, body = $schema),
                (status = 400, description = $invalid, body = $crate::admin::schemas::ErrorBody),
                $crate::admin::schemas::AdminReadRefusals,
            )
        )]
        pub async fn $name(
            _: $crate::admin::guard::Admin,
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            params: $crate::admin::extract::Params,
        ) -> Result<axum::Json<$crate::admin::extract::List<$view>>, $crate::error::ApiError> {
            $crate::admin::crud::list::<$record>(&state, &params).await
        }
    };
}
pub(crate) use list_route;

/// `pub async fn $name` over [`upsert`] for `$record` (`replace`: `PUT` resets absent fields), with its OpenAPI
/// operation: `[put]`, `[patch]` or `[method(put, patch)]`, the path parameter, the input, the 200 and 201 answers
/// and what a 400 names.
macro_rules! upsert_route {
    ($(#[$doc:meta])* fn $name:ident, [$($method:tt)*], replace = $replace:literal, $record:ty, $path:literal,
     $op:literal, $tag:literal, $param:literal: $pty:ty = $pdesc:literal, $input:ty = $changes:literal,
     $view:ty as $schema:ty, $changed:literal, $created:literal, $invalid:literal $(,)?) => {
        $crate::admin::crud::path_write!(
            $(#[$doc])* fn $name, [$($method)*], $path, $op, $tag, $param: $pty = $pdesc, $input = $changes,
            [
                (status = 200, description = $changed, body = $schema),
                (status = 201, description = $created, body = $schema),
                (status = 400, description = $invalid, body = $crate::admin::schemas::ErrorBody),
            ],
            (http::StatusCode, axum::Json<$view>),
            |state, path, input| $crate::admin::crud::upsert::<$record>(&state, &path, input, $replace).await
        );
    };
}
pub(crate) use upsert_route;
