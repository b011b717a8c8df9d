//! Documentation-only schemas: mirrors of the `{"data":[…],"total":N}` list envelope for each item type, of the
//! OpenAI-shaped error body and of `/v1/models`. Nothing here is ever built; the field names and types must follow
//! the real types (`admin::extract::List`, `api_types::ErrorBody`, `api_types::ModelList`). The records the API
//! answers straight from the store are described by the store's own types (its `openapi` feature).

use crate::admin::channel_dto::ChannelView;
use crate::admin::keys::KeyView;
use crate::admin::mj_tasks::TaskView;
use crate::admin::users::UserView;
use utoipa::ToSchema;

/// The paging query parameters of the paged lists.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size (default 100, at most 1000)
    pub limit: Option<i64>,
    /// Rows to skip (default 0)
    pub offset: Option<i64>,
}

/// Every error: `{"error":{"message","type","param","code"}}` (the OpenAI shape).
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(ToSchema)]
pub struct ErrorObject {
    /// What went wrong, for a person.
    pub message: String,
    /// `invalid_request_error`, `permission_error`, `rate_limit_error`, `server_error`, …
    #[schema(rename = "type")]
    pub kind: String,
    /// The request field at fault, if one is.
    #[schema(required)]
    pub param: Option<String>,
    /// A stable machine-readable code (`not_found`, `conflict`, `invalid_admin_token`, …).
    #[schema(required)]
    pub code: Option<String>,
}

/// `GET /v1/models`-shaped list (`api_types::ModelList`).
#[derive(ToSchema)]
pub struct ModelList {
    /// Always `list`.
    pub object: String,
    pub data: Vec<ModelObject>,
}

#[derive(ToSchema)]
pub struct ModelObject {
    pub id: String,
    /// Always `model`.
    pub object: String,
    pub created: i64,
    pub owned_by: String,
}

/// Mirrors of `admin::extract::List<T>` (`{"data":[…],"total":N}`) for each item type the API lists.
macro_rules! lists {
    ($($(#[$doc:meta])* $name:ident => $item:ty;)*) => {$(
        $(#[$doc])*
        #[derive(ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Rows matching the filter, over all pages.
            pub total: i64,
        }
    )*};
}

lists! {
    /// `{"data":[ChannelView…],"total":N}`.
    ChannelList => ChannelView;
    /// `{"data":[UserView…],"total":N}`.
    UserList => UserView;
    /// `{"data":[KeyView…],"total":N}`.
    KeyList => KeyView;
    /// `{"data":[Price…],"total":N}`.
    PriceList => store::Price;
    /// `{"data":[Group…],"total":N}`.
    GroupList => store::Group;
    /// `{"data":[LogRow…],"total":N}`.
    LogList => store::LogRow;
    /// `{"data":[UsageBucket…],"total":N}`.
    UsageList => store::UsageBucket;
    /// `{"data":[RedemptionCode…],"total":N}`.
    CodeList => store::RedemptionCode;
    /// `{"data":[TaskView…],"total":N}`.
    TaskList => TaskView;
    /// `{"data":["model-id"…],"total":N}`: model names an upstream lists.
    ModelNameList => String;
}

/// The admin guard's refusals, which differ between reads and writes only in what the 403 covers.
macro_rules! guard_refusals {
    ($(#[$doc:meta])* $name:ident, forbidden = $forbidden:literal) => {
        $(#[$doc])*
        #[derive(utoipa::IntoResponses)]
        pub enum $name {
            /// Missing or invalid admin token or session
            #[response(status = 401)]
            Unauthorized(ErrorBody),
            #[doc = $forbidden]
            #[response(status = 403)]
            Forbidden(ErrorBody),
            /// Too many failed authentication attempts from this address
            #[response(status = 429)]
            TooManyAttempts(ErrorBody),
        }
    };
}

guard_refusals!(
    /// What the admin guard answers a read it refuses (every `GET /api/admin/…`).
    AdminReadRefusals,
    forbidden = "The session's user is not an administrator"
);

guard_refusals!(
    /// What the admin guard answers a write it refuses (every other admin method: the session also needs its
    /// CSRF token).
    AdminWriteRefusals,
    forbidden = "Not an administrator, or the session's `X-CSRF-Token` is missing"
);
