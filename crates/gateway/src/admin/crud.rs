//! What the admin handlers of records addressed by a numeric id (`/channels/{id}`, `/users/{id}`, `/keys/{id}`,
//! `/codes/{id}`) share: reading one and deleting one — the id parsed (anything else cannot name a record: 404),
//! the store's `NotFound` named (`API key 7 not found.`), and the relay's catalog reloaded after a delete of
//! something it holds. A resource says only what it is called and which store calls load and remove it; its
//! handler keeps its own `#[utoipa::path]` (the route and its documentation) and calls [`get`] or [`delete`].

use super::extract::{PathParam, not_found};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use http::StatusCode;
use serde::Serialize;
use std::future::Future;
use store::{Store, StoreError};

/// A kind of record with a numeric id.
pub trait Record {
    /// How a 404 names it: `Channel`, `User`, `API key`, `Code`.
    const NAME: &'static str;
    /// Whether the relay's catalog holds it, so that a delete must reload it.
    const IN_CATALOG: bool;
}

/// A record the API shows as `View`.
pub trait Load: Record {
    type Stored;
    type View: Serialize + From<Self::Stored>;
    fn load(
        store: &Store,
        id: i64,
    ) -> impl Future<Output = Result<Self::Stored, StoreError>> + Send;
}

/// A record the API deletes.
pub trait Remove: Record {
    fn remove(store: &Store, id: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The numeric id in the path, or 404 naming what was asked for.
fn id_of<R: Record>(id: &PathParam) -> Result<i64, ApiError> {
    id.id(R::NAME)
}

/// `GET …/{id}`: the record as its view.
pub async fn get<R: Load>(state: &AppState, id: &PathParam) -> Result<Json<R::View>, ApiError> {
    let id = id_of::<R>(id)?;
    let stored = R::load(&state.store, id)
        .await
        .map_err(not_found(|| format!("{} {id}", R::NAME)))?;
    Ok(Json(stored.into()))
}

/// `DELETE …/{id}`: 204, the catalog reloaded when it held the record.
pub async fn delete<R: Remove>(state: &AppState, id: &PathParam) -> Result<StatusCode, ApiError> {
    let id = id_of::<R>(id)?;
    R::remove(&state.store, id)
        .await
        .map_err(not_found(|| format!("{} {id}", R::NAME)))?;
    if R::IN_CATALOG {
        state.refresh_catalog().await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Declares a [`Record`] and its store calls: `record!(Channels, "Channel", in_catalog = true, load = get_channel
/// => Channel as ChannelView, remove = delete_channel)`.
macro_rules! record {
    ($ty:ident, $name:literal, in_catalog = $cat:literal $(, load = $load:ident => $stored:ty as $view:ty)? $(, remove = $remove:ident)?) => {
        pub struct $ty;
        impl $crate::admin::crud::Record for $ty {
            const NAME: &'static str = $name;
            const IN_CATALOG: bool = $cat;
        }
        $(impl $crate::admin::crud::Load for $ty {
            type Stored = $stored;
            type View = $view;
            fn load(
                store: &store::Store,
                id: i64,
            ) -> impl std::future::Future<Output = Result<$stored, store::StoreError>> + Send {
                store.$load(id)
            }
        })?
        $(impl $crate::admin::crud::Remove for $ty {
            fn remove(
                store: &store::Store,
                id: i64,
            ) -> impl std::future::Future<Output = Result<(), store::StoreError>> + Send {
                store.$remove(id)
            }
        })?
    };
}
pub(crate) use record;
