//! What the admin handlers of addressable records share: reading one and deleting one. The path names the record
//! (a numeric id — anything else cannot name one: 404 — or a name), the store's `NotFound` becomes a 404 naming it
//! (`API key 7 not found.`, ``Group `vip` not found.``), and the relay's catalog is reloaded after a delete of
//! something it holds. A resource declares what it is called and which store calls load and remove it
//! ([`record!`]); [`get_route!`] and [`delete_route!`] then write the handler together with its
//! `#[utoipa::path]` (its route and its documentation), so the parts every admin read or write shares — security,
//! the refusals, 400 for a malformed path, 404 — are written once, here.

use super::extract::{PathParam, not_found};
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
    fn remove(
        store: &Store,
        key: &Self::Key,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The numeric id in the path, or 404 naming what was asked for.
pub fn numeric_id(path: &PathParam, name: &str) -> Result<i64, ApiError> {
    path.id(name)
}

/// `GET …/{key}`: the record as its view.
pub async fn get<R: Load>(state: &AppState, path: &PathParam) -> Result<Json<R::View>, ApiError> {
    let key = R::key(path)?;
    let stored = R::load(&state.store, &key)
        .await
        .map_err(not_found(|| R::describe(&key)))?;
    Ok(Json(stored.into()))
}

/// `DELETE …/{key}`: 204, the catalog reloaded when it held the record.
pub async fn delete<R: Remove>(state: &AppState, path: &PathParam) -> Result<StatusCode, ApiError> {
    let key = R::key(path)?;
    R::remove(&state.store, &key)
        .await
        .map_err(not_found(|| R::describe(&key)))?;
    if R::IN_CATALOG {
        state.refresh_catalog().await;
    }
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

/// `pub async fn get` over [`get`] for `$record`, with its OpenAPI operation: `get_route!(Channels, "/channels/{id}",
/// "admin_get_channel", "channels", "id": i64 = "Channel id", ChannelView as ChannelView, "The channel", "No such
/// channel")` (the type after `as` is the documented schema).
macro_rules! get_route {
    ($(#[$doc:meta])* $record:ty, $path:literal, $op:literal, $tag:literal, $param:literal: $pty:ty = $pdesc:literal,
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
        pub async fn get(
            _: $crate::admin::guard::Admin,
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            path: $crate::admin::extract::PathParam,
        ) -> Result<axum::Json<$view>, $crate::error::ApiError> {
            $crate::admin::crud::get::<$record>(&state, &path).await
        }
    };
}
pub(crate) use get_route;

/// `pub async fn delete` over [`delete`] for `$record`, with its OpenAPI operation (204, or 404 `$missing`).
macro_rules! delete_route {
    ($(#[$doc:meta])* $record:ty, $path:literal, $op:literal, $tag:literal, $param:literal: $pty:ty = $pdesc:literal,
     $deleted:literal, $missing:literal) => {
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
                $crate::admin::schemas::AdminWriteRefusals,
            )
        )]
        pub async fn delete(
            _: $crate::admin::guard::Admin,
            axum::extract::State(state): axum::extract::State<$crate::state::AppState>,
            path: $crate::admin::extract::PathParam,
        ) -> Result<http::StatusCode, $crate::error::ApiError> {
            $crate::admin::crud::delete::<$record>(&state, &path).await
        }
    };
}
pub(crate) use delete_route;
