//! Documentation-only schemas: mirrors of the records the admin and self-service API answer straight from the
//! store (whose crate stays free of OpenAPI code), of the `{"data":[…],"total":N}` list envelope for each item
//! type, and of the OpenAI-shaped error body. Nothing here is ever built; the field names and types must follow
//! the real types (`store::*`, `admin::extract::List`, `api_types::ErrorBody`).

use crate::admin::channel_dto::ChannelView;
use crate::admin::keys::KeyView;
use crate::admin::mj_tasks::TaskView;
use crate::admin::users::UserView;
use chrono::{DateTime, Utc};
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

/// A price group (`store::Group`); `multiplier` is per mille (1000 = ×1).
#[derive(ToSchema)]
pub struct Group {
    pub name: String,
    pub multiplier: i64,
    /// Requests per minute for each key of the group that sets no limit of its own.
    #[schema(required)]
    pub rpm_limit: Option<i64>,
    /// Tokens per minute for each key of the group that sets no limit of its own.
    #[schema(required)]
    pub tpm_limit: Option<i64>,
}

/// The price of one model (`store::Price`), in money units per million tokens or per request; model `*` is the
/// default price.
#[derive(ToSchema)]
pub struct Price {
    pub model: String,
    #[schema(required)]
    pub input_per_million: Option<i64>,
    #[schema(required)]
    pub cached_input_per_million: Option<i64>,
    #[schema(required)]
    pub output_per_million: Option<i64>,
    #[schema(required)]
    pub per_request: Option<i64>,
    /// The model's output ceiling in tokens; null = `--default-max-output-tokens`.
    #[schema(required)]
    pub max_output_tokens: Option<i64>,
}

/// One request log row (`store::LogRow`).
#[derive(ToSchema)]
pub struct LogRow {
    pub request_id: String,
    pub time: DateTime<Utc>,
    #[schema(required)]
    pub user_id: Option<i64>,
    #[schema(required)]
    pub key_id: Option<i64>,
    #[schema(required)]
    pub key_name: Option<String>,
    #[schema(required)]
    pub channel_id: Option<i64>,
    #[schema(required)]
    pub model: Option<String>,
    #[schema(required)]
    pub upstream_model: Option<String>,
    pub prompt_tokens: i64,
    pub cached_tokens: i64,
    pub completion_tokens: i64,
    pub cost: i64,
    /// HTTP status sent to the client.
    pub status: i64,
    pub stream: bool,
    pub retries: i64,
    pub latency_ms: i64,
    #[schema(required)]
    pub ttft_ms: Option<i64>,
    #[schema(required)]
    pub client_ip: Option<String>,
    #[schema(required)]
    pub error: Option<String>,
    /// How many requests the row stands for: 1, except for refusals before any key was known (missing or
    /// invalid key, unknown route), folded into one row per client address, status and minute whose
    /// `request_id` is the first one's.
    pub count: i64,
}

/// A redemption code (`store::RedemptionCode`): `amount` added to the balance of the user who redeems it, once.
#[derive(ToSchema)]
pub struct RedemptionCode {
    pub id: i64,
    pub code: String,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    #[schema(required)]
    pub redeemed_by: Option<i64>,
    #[schema(required)]
    pub redeemed_at: Option<DateTime<Utc>>,
}

/// One usage bucket. Only the dimensions asked for in `group_by` are present (`day`, `model`, `user_id`,
/// `channel_id`); the totals always are.
#[derive(ToSchema)]
pub struct UsageBucket {
    /// `YYYY-MM-DD` (UTC), with `group_by=day`.
    pub day: Option<String>,
    /// With `group_by=model`.
    pub model: Option<String>,
    /// With `group_by=user`.
    pub user_id: Option<i64>,
    /// With `group_by=channel`.
    pub channel_id: Option<i64>,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost: i64,
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
    PriceList => Price;
    /// `{"data":[Group…],"total":N}`.
    GroupList => Group;
    /// `{"data":[LogRow…],"total":N}`.
    LogList => LogRow;
    /// `{"data":[UsageBucket…],"total":N}`.
    UsageList => UsageBucket;
    /// `{"data":[RedemptionCode…],"total":N}`.
    CodeList => RedemptionCode;
    /// `{"data":[TaskView…],"total":N}`.
    TaskList => TaskView;
    /// `{"data":["model-id"…],"total":N}`: model names an upstream lists.
    ModelNameList => String;
}

/// What the admin guard answers a read it refuses (every `GET /api/admin/…`).
#[derive(utoipa::IntoResponses)]
pub enum AdminReadRefusals {
    /// Missing or invalid admin token or session
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The session's user is not an administrator
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Too many failed authentication attempts from this address
    #[response(status = 429)]
    TooManyAttempts(ErrorBody),
}

/// What the admin guard answers a write it refuses (every other admin method: the session also needs its
/// CSRF token).
#[derive(utoipa::IntoResponses)]
pub enum AdminWriteRefusals {
    /// Missing or invalid admin token or session
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Not an administrator, or the session's `X-CSRF-Token` is missing
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Too many failed authentication attempts from this address
    #[response(status = 429)]
    TooManyAttempts(ErrorBody),
}
