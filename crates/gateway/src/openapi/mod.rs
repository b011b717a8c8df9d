//! `GET /api/openapi.json`: an OpenAPI 3.1 document of the admin (`/api/admin`) and self-service (`/api`) REST
//! API, generated from the handlers' `#[utoipa::path]` annotations and the types' `ToSchema` derives (the store's
//! records derive it under the store's `openapi` feature). The list envelope and the error body are described by
//! the mirrors in [`crate::admin::schemas`] (beside the handlers that use them, so `admin/` never imports this
//! module).

use crate::account::login::{LoginInput, Me, Options, RegisterInput, SessionView};
use crate::account::redeem::{RedeemInput, Redeemed};
use crate::admin::channel_dto::{ChannelInput, ChannelView, KeyStatus};
use crate::admin::channel_models::FetchModelsInput;
use crate::admin::codes::CodesInput;
use crate::admin::groups::GroupInput;
use crate::admin::keys::{CreatedKey, KeyInput, KeyView};
use crate::admin::mj_tasks::TaskView;
use crate::admin::prices::PriceInput;
use crate::admin::schemas::{
    ChannelList, CodeList, ErrorBody, ErrorObject, GroupList, KeyList, LogList, ModelList,
    ModelNameList, ModelObject, PriceList, TaskList, UsageList, UserList,
};
use crate::admin::users::{Role, Topup, UserInput, UserView};
use crate::routing::probe::TestOutcome;
use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::header;
use std::collections::HashSet;
use store::{Group, LogRow, Price, RedemptionCode, UsageBucket};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, PathItem};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tollgate admin API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The admin API under `/api/admin` (the admin token as `Authorization: Bearer`, or an \
                       administrator's dashboard session) and the self-service API under `/api` (a user's \
                       dashboard session). Sessions are the `tollgate_session` cookie set by `POST /api/auth/login`; \
                       every request other than GET also needs the session's `X-CSRF-Token` header. Lists are \
                       `{\"data\":[…],\"total\":N}`, money is integer micro-units, errors are \
                       `{\"error\":{\"message\",\"type\",\"param\",\"code\"}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(
        ErrorBody,
        ErrorObject,
        ChannelInput,
        ChannelView,
        KeyStatus,
        ChannelList,
        FetchModelsInput,
        ModelNameList,
        TestOutcome,
        UserInput,
        UserView,
        Role,
        Topup,
        UserList,
        KeyInput,
        KeyView,
        CreatedKey,
        KeyList,
        crate::account::key_dto::OwnKeyInput,
        crate::account::key_dto::OwnKeyView,
        crate::account::key_dto::CreatedOwnKey,
        crate::account::key_dto::OwnKeyList,
        crate::account::ceiling::Ceilings,
        PriceInput,
        Price,
        PriceList,
        GroupInput,
        Group,
        GroupList,
        LogRow,
        LogList,
        UsageBucket,
        UsageList,
        CodesInput,
        RedemptionCode,
        CodeList,
        TaskView,
        TaskList,
        LoginInput,
        RegisterInput,
        SessionView,
        Me,
        Options,
        RedeemInput,
        Redeemed,
        ModelList,
        ModelObject,
    )),
    tags(
        (name = "channels", description = "Upstream channels (admin)"),
        (name = "users", description = "Users and balances (admin)"),
        (name = "keys", description = "Every user's API keys (admin)"),
        (name = "prices", description = "Model prices (admin)"),
        (name = "groups", description = "Price groups (admin)"),
        (name = "logs", description = "Request logs (admin)"),
        (name = "usage", description = "Usage totals (admin)"),
        (name = "codes", description = "Redemption codes (admin)"),
        (name = "midjourney", description = "Midjourney tasks (admin)"),
        (name = "auth", description = "Dashboard login and session"),
        (name = "account", description = "The logged-in user's own account, keys, logs and usage"),
        (name = "playground", description = "The dashboard's playground, relayed with the user's key"),
    )
)]
pub struct ApiDoc;

/// The security schemes the operations name: the admin token (`bearer`), the dashboard session cookie
/// (`session`) and the CSRF header every session request other than GET needs (`csrf`).
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token (`--admin-token`), as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A user's API key (`sk-…`), as `Authorization: Bearer sk-…`: accepted by `POST /api/redeem` \
                         to top up the key owner's balance.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::session::COOKIE,
                "The dashboard session cookie set by `POST /api/auth/login` (an administrator's for the admin API).",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (`csrf_token` of the login answer), required with the session cookie on \
                 every request other than GET.",
            ))),
        );
    }
}

/// `PATCH` and `PUT` served by one handler share its operation id; OpenAPI wants each id once, so the second
/// and later uses get the method appended (`admin_update_channel_put`).
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, doc: &mut Document) {
        let mut seen = HashSet::new();
        for item in doc.paths.paths.values_mut() {
            for (method, op) in operations(item) {
                if let Some(id) = op.operation_id.as_mut()
                    && !seen.insert(id.clone())
                {
                    id.push('_');
                    id.push_str(method);
                    seen.insert(id.clone());
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("patch", item.patch.as_mut()),
        ("put", item.put.as_mut()),
        ("delete", item.delete.as_mut()),
        ("head", item.head.as_mut()),
        ("options", item.options.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

/// The admin (`/api/admin`) and self-service (`/api`) routes and their OpenAPI document, from one declaration
/// ([`crate::admin::routes`], [`crate::account::routes`]): a route cannot exist undocumented, nor be documented but
/// absent. The document is served at `GET /api/openapi.json` (public).
pub fn routes() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/admin", crate::admin::routes())
        .nest("/api", crate::account::routes())
        .split_for_parts();
    let json = Bytes::from(serde_json::to_vec(&finish(doc)).unwrap_or_default());
    router.route(
        "/api/openapi.json",
        get(move || {
            let json = json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], json) }
        }),
    )
}

/// The security schemes, unique operation ids, and OpenAPI's spelling of the one wildcard route:
/// `/api/admin/prices/{*model}` (a model name may hold `/`) is `{model}` in the document.
pub fn finish(mut doc: Document) -> Document {
    Security.modify(&mut doc);
    UniqueOperationIds.modify(&mut doc);
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    doc
}
