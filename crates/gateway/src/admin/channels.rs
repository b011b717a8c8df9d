//! `/api/admin/channels[/{id}]` and `POST /api/admin/channels/{id}/test`.

use super::channel_dto::{ChannelInput, ChannelView, scrub};
use super::crud;
use super::extract::{List, Params, PathParam};
use super::guard::Admin;
use crate::admin::schemas::{AdminWriteRefusals, ChannelList, ErrorBody};
use crate::error::ApiError;
use crate::routing::probe::{TestOutcome, test_channel};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use store::{Channel, ChannelPatch, NewChannel, Store, StoreError};

fn what(id: i64) -> impl FnOnce() -> String {
    move || format!("Channel {id}")
}

crud::record!(Channels, "Channel", by id, in_catalog = true, load = get_channel => store::Channel as ChannelView, remove = delete_channel);

crud::list_route!(
    Channels,
    "/channels",
    "admin_list_channels",
    "channels",
    [],
    ChannelView as ChannelList,
    "Every channel, upstream secrets masked",
    "A query parameter was given (none are accepted)"
);

impl crud::Listed for Channels {
    type Item = Channel;
    type View = ChannelView;
    const FILTERS: &'static [&'static str] = &[];
    const PAGED: bool = false;
    async fn fetch(store: &Store, _: &Params) -> Result<List<Channel>, ApiError> {
        Ok(List::all(store.list_channels().await?))
    }
}

crud::get_route!(
    Channels,
    "/channels/{id}",
    "admin_get_channel",
    "channels",
    "id": i64 = "Channel id",
    ChannelView as ChannelView,
    "The channel, upstream secrets masked",
    "No such channel"
);

crud::create_route!(
    Channels,
    "/channels",
    "admin_create_channel",
    "channels",
    ChannelInput,
    ChannelView as ChannelView,
    "`name`, `kind`, `base_url` and `keys` are required",
    "The new channel",
    "Invalid body (the field at fault in `param`)",
    (
        status = 409,
        description = "A channel of that name exists",
        body = ErrorBody
    ),
);

crud::update_route!(
    /// `PATCH` and `PUT`: both partial (absent fields stay as they are).
    Channels,
    "/channels/{id}",
    "admin_update_channel",
    "channels",
    "id": i64 = "Channel id",
    ChannelInput = "Fields to change; absent fields stay as they are",
    ChannelView as ChannelView,
    "The updated channel",
    "Invalid body (the field at fault in `param`)",
    "No such channel",
    (status = 409, description = "Another channel has that name", body = ErrorBody),
);

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

crud::delete_route!(
    Channels,
    "/channels/{id}",
    "admin_delete_channel",
    "channels",
    "id": i64 = "Channel id",
    "Deleted",
    "No such channel"
);

/// Sends one tiny chat request through the channel; 200 with the outcome whether or not it passed.
#[utoipa::path(
    post,
    path = "/channels/{id}/test",
    operation_id = "admin_test_channel",
    tag = "channels",
    params(("id" = i64, Path, description = "Channel id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The test's outcome, passed or not", body = TestOutcome),
        (status = 400, description = "Malformed path", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn test(
    _: Admin,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<Json<TestOutcome>, ApiError> {
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
    let mut outcome = test_channel(&state, &entry).await;
    outcome.error = outcome.error.map(|e| scrub(&e, &entry.channel));
    Ok(Json(outcome))
}
