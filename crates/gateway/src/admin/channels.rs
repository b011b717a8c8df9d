//! `/api/admin/channels[/{id}]` and `POST /api/admin/channels/{id}/test`.

use super::channel_dto::{ChannelInput, ChannelView, scrub};
use super::crud;
use super::extract::PathParam;
use crate::error::ApiError;
use crate::routing::probe::{TestOutcome, test_channel};
use crate::state::AppState;
use axum::Json;
use store::{Channel, ChannelPatch, NewChannel, Store, StoreError};

fn what(id: i64) -> impl FnOnce() -> String {
    move || format!("Channel {id}")
}

crud::record!(Channels, "Channel", by id, in_catalog = true, load = get_channel => store::Channel as ChannelView, remove = delete_channel);

crud::whole_list!(Channels, list_channels => Channel as ChannelView);

impl crud::Create for Channels {
    type Input = ChannelInput;
    type New = NewChannel;
    async fn prepare(_: &AppState, input: ChannelInput) -> Result<NewChannel, ApiError> {
        input.into_new()
    }
    async fn insert(store: &Store, new: &NewChannel) -> Result<Channel, StoreError> {
        store.create_channel(new).await
    }
}

impl crud::Update for Channels {
    type Input = ChannelInput;
    type Patch = ChannelPatch;
    async fn prepare(
        state: &AppState,
        id: &i64,
        input: ChannelInput,
    ) -> Result<ChannelPatch, ApiError> {
        let current = state
            .catalog
            .snapshot()
            .channel(*id)
            .map(|c| c.channel.kind);
        input.into_patch(current)
    }
    async fn save(store: &Store, id: &i64, patch: &ChannelPatch) -> Result<Channel, StoreError> {
        store.update_channel(*id, patch).await
    }
}

/// Sends one tiny chat request through the channel; 200 with the outcome whether or not it passed.
pub(super) async fn test(state: &AppState, id: PathParam) -> Result<Json<TestOutcome>, ApiError> {
    let id = id.id("Channel")?;
    let mut entry = state.catalog.snapshot().channel(id).cloned();
    if entry.is_none() {
        // Written by another instance (or a moment ago): look again with a fresh catalog.
        state.refresh_catalog().await;
        entry = state.catalog.snapshot().channel(id).cloned();
    }
    let Some(entry) = entry else {
        return Err(ApiError::NotFound { what: what(id)() });
    };
    let mut outcome = test_channel(state, &entry).await;
    outcome.error = outcome.error.map(|e| scrub(&e, &entry.channel));
    Ok(Json(outcome))
}
