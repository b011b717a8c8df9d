//! Plain records the store reads and writes. No I/O here; the gateway owns IDs' meaning and all business rules.
//!
//! Money fields are integer micro-units (1 = 1e-6 of the operator's currency). Times are `DateTime<Utc>`
//! (stored as unix milliseconds).

use api_types::{ChannelKind, MjMode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A price group; `multiplier` is per mille (1000 = ×1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub name: String,
    pub multiplier: i64,
    /// Requests per minute for each key of the group that sets no limit of its own.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub rpm_limit: Option<i64>,
    /// Tokens per minute for each key of the group that sets no limit of its own.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub tpm_limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// argon2/sha hash produced by the gateway; never serialized to clients by the gateway.
    pub password_hash: Option<String>,
    pub group: String,
    /// Remaining money. Outstanding reservations are already deducted from it.
    pub balance: i64,
    /// Settled spend, all time.
    pub spent: i64,
    pub enabled: bool,
    /// May log in to the dashboard's admin pages (stored as `role = 'admin'`).
    pub admin: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub password_hash: Option<String>,
    pub group: String,
    pub balance: i64,
    pub enabled: bool,
    pub admin: bool,
}

/// Partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub password_hash: Option<Option<String>>,
    pub group: Option<String>,
    pub balance: Option<i64>,
    pub enabled: Option<bool>,
    pub admin: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// hex SHA-256 of the full `sk-...` secret.
    pub key_hash: String,
    /// First characters of the secret, for display (`sk-abcd`).
    pub prefix: String,
    pub enabled: bool,
    /// `None` = every model.
    pub models: Option<Vec<String>>,
    /// `None` = no cap.
    pub spend_cap: Option<i64>,
    /// Settled spend.
    pub spent: i64,
    /// Sum of outstanding reservations.
    pub reserved: i64,
    pub expires_at: Option<DateTime<Utc>>,
    /// CIDR strings; empty = any address.
    pub ip_allowlist: Vec<String>,
    pub rpm_limit: Option<i64>,
    /// Prompt + completion tokens per minute; `None` = the group's, else none.
    pub tpm_limit: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// What the key's owner set through self-service. The fields above are the operator's (the admin API's);
    /// what is enforced is the tighter of the two.
    #[serde(default)]
    pub owner: OwnerLimits,
}

/// The limits a key's owner set on it through self-service (`user_*` columns): tightenings only. The owner
/// cannot loosen what the operator set, so the enforced value of each is the tighter of the two (see
/// [`crate::tighter_limit`]). Empty (the default) means the owner set nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerLimits {
    /// The owner turned the key off (they may turn it back on; an operator's disable is `ApiKey::enabled`).
    pub disabled: bool,
    /// `None` = no restriction of the owner's.
    pub models: Option<Vec<String>>,
    pub spend_cap: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    /// CIDR strings; empty = no restriction of the owner's.
    pub ip_allowlist: Vec<String>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    pub user_id: i64,
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
    pub enabled: bool,
    pub models: Option<Vec<String>>,
    pub spend_cap: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub ip_allowlist: Vec<String>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ApiKeyPatch {
    pub name: Option<String>,
    /// Replaces the secret (used by declarative config when the key text changes).
    pub key_hash: Option<(String, String)>,
    pub enabled: Option<bool>,
    pub models: Option<Option<Vec<String>>>,
    pub spend_cap: Option<Option<i64>>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub ip_allowlist: Option<Vec<String>>,
    pub rpm_limit: Option<Option<i64>>,
    pub tpm_limit: Option<Option<i64>>,
}

/// One upstream secret of a channel, with its own health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelKey {
    pub id: i64,
    pub channel_id: i64,
    /// Order inside the channel (0-based), for round-robin.
    pub position: i64,
    pub secret: String,
    pub healthy: bool,
    /// Why it was taken out of rotation (upstream error text), `None` when healthy.
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    /// Stored as its text (`openai`, …); a row of unknown kind is never read as a `Channel` (see [`ChannelKind`]).
    pub kind: ChannelKind,
    pub base_url: String,
    pub keys: Vec<ChannelKey>,
    pub models: Vec<String>,
    pub model_mapping: BTreeMap<String, String>,
    pub groups: Vec<String>,
    pub priority: i64,
    pub weight: i64,
    pub enabled: bool,
    pub api_version: Option<String>,
    /// The cloud region (`vertex`: the Vertex AI location; `None`: `us-central1`).
    pub region: Option<String>,
    pub modes: Option<Vec<MjMode>>,
    /// Extra headers sent upstream.
    pub headers: BTreeMap<String, String>,
    /// Anthropic: forward http(s) image URLs as `url` sources instead of inlining them.
    pub forward_image_urls: bool,
    pub health: ChannelHealth,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub name: String,
    pub kind: ChannelKind,
    pub base_url: String,
    pub keys: Vec<String>,
    pub models: Vec<String>,
    pub model_mapping: BTreeMap<String, String>,
    pub groups: Vec<String>,
    pub priority: i64,
    pub weight: i64,
    pub enabled: bool,
    pub api_version: Option<String>,
    pub region: Option<String>,
    pub modes: Option<Vec<MjMode>>,
    pub headers: BTreeMap<String, String>,
    pub forward_image_urls: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub kind: Option<ChannelKind>,
    pub base_url: Option<String>,
    /// Replaces all keys (new keys start healthy).
    pub keys: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
    pub model_mapping: Option<BTreeMap<String, String>>,
    pub groups: Option<Vec<String>>,
    pub priority: Option<i64>,
    pub weight: Option<i64>,
    pub enabled: Option<bool>,
    pub api_version: Option<Option<String>>,
    pub region: Option<Option<String>>,
    pub modes: Option<Option<Vec<MjMode>>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub forward_image_urls: Option<bool>,
}

/// Whether a channel is in rotation (`healthy`) or was taken out by failures and is being probed back
/// (`unhealthy`); stored as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChannelHealth {
    #[default]
    Healthy,
    Unhealthy,
}

impl ChannelHealth {
    /// The stored and displayed text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// The stored text; anything else reads as unhealthy (out of rotation until a probe passes).
    pub fn from_stored(text: &str) -> Self {
        if text == "healthy" {
            Self::Healthy
        } else {
            Self::Unhealthy
        }
    }

    /// Healthy while any key is.
    pub fn of_keys(healthy_keys: usize) -> Self {
        if healthy_keys == 0 {
            Self::Unhealthy
        } else {
            Self::Healthy
        }
    }
}

/// The price of one model, in money units per million tokens or per request; model `*` is the default price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Price {
    pub model: String,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub input_per_million: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub cached_input_per_million: Option<i64>,
    /// Prompt-cache writes (Anthropic `cache_creation_input_tokens`); null = the input price.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub cache_write_per_million: Option<i64>,
    /// One-hour prompt-cache writes (`cache_creation.ephemeral_1h_input_tokens`); null = the write price.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub cache_write_1h_per_million: Option<i64>,
    /// Realtime audio input tokens; null = no audio price (realtime refuses audio input).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub audio_input_per_million: Option<i64>,
    /// Realtime audio output tokens; null = no audio price (realtime refuses audio output).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub audio_output_per_million: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub output_per_million: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub per_request: Option<i64>,
    /// The model's output ceiling in tokens; null = `--default-max-output-tokens`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub max_output_tokens: Option<i64>,
}

/// Everything the hot path needs, loaded in one go and swapped atomically by the gateway's cache.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub users: Vec<User>,
    pub keys: Vec<ApiKey>,
    pub channels: Vec<Channel>,
    pub prices: Vec<Price>,
    pub groups: Vec<Group>,
}

/// Money held for one in-flight request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub request_id: String,
    pub user_id: i64,
    pub key_id: i64,
    pub amount: i64,
}

/// One request log row: one per relayed (or refused) request; refusals before any key is known are folded into
/// one row per client address, status and minute, which `count` says how many requests stand for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRow {
    pub request_id: String,
    pub time: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub user_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub key_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub key_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub channel_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub model: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub upstream_model: Option<String>,
    pub prompt_tokens: i64,
    pub cached_tokens: i64,
    /// Prompt tokens written to the provider's prompt cache (part of `prompt_tokens`, like `cached_tokens`).
    #[serde(default)]
    pub cache_write_tokens: i64,
    pub completion_tokens: i64,
    pub cost: i64,
    /// HTTP status sent to the client (for a stream that failed after the first byte: the upstream/err status).
    pub status: i64,
    pub stream: bool,
    pub retries: i64,
    pub latency_ms: i64,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub ttft_ms: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub client_ip: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub error: Option<String>,
    /// How many requests the row stands for: 1, except for refusals before any key was known (missing or
    /// invalid key, unknown route), folded into one row per client address, status and minute whose
    /// `request_id` is the first one's.
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(required))]
    pub count: i64,
}

fn one() -> i64 {
    1
}

impl Default for LogRow {
    /// An empty row standing for one request.
    fn default() -> Self {
        Self {
            request_id: String::new(),
            time: DateTime::default(),
            user_id: None,
            key_id: None,
            key_name: None,
            channel_id: None,
            model: None,
            upstream_model: None,
            prompt_tokens: 0,
            cached_tokens: 0,
            cache_write_tokens: 0,
            completion_tokens: 0,
            cost: 0,
            status: 0,
            stream: false,
            retries: 0,
            latency_ms: 0,
            ttft_ms: None,
            client_ip: None,
            error: None,
            count: 1,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub request_id: Option<String>,
    pub user_id: Option<i64>,
    pub key_id: Option<i64>,
    pub model: Option<String>,
    pub channel_id: Option<i64>,
    pub status: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Newest first. Store clamps limit to 1..=1000 (default 100 is the caller's job).
    pub limit: i64,
    pub offset: i64,
}

/// Dimensions of `usage` aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageDim {
    Day,
    Model,
    User,
    Channel,
}

/// One usage bucket. Only the dimensions asked for in `group_by` are present (`day`, `model`, `user_id`,
/// `channel_id`); the totals always are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The money side of a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// A reservation row to settle to its actual cost (0 = refund); the store clamps the charge.
    Settle { request_id: String, actual: i64 },
    /// An amount already decided (and clamped) by an in-memory ledger, taken from the user's balance and added
    /// to the user's and the key's `spent`.
    Apply {
        user_id: i64,
        key_id: i64,
        amount: i64,
    },
}

/// What the gateway's log writer hands the store: a log row, and the charge that goes with it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub row: LogRow,
    pub charge: Option<Charge>,
}

/// A Midjourney task relayed for a user. `upstream_id` is the id the client sees (the upstream's task id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MjTask {
    pub id: i64,
    pub upstream_id: String,
    pub user_id: i64,
    pub key_id: i64,
    pub channel_id: i64,
    /// `IMAGINE`, `UPSCALE`, `VARIATION`, … as the MJ API names it.
    pub action: String,
    pub mode: Option<MjMode>,
    pub prompt: Option<String>,
    pub prompt_en: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    /// `NOT_START`, `SUBMITTED`, `IN_PROGRESS`, `SUCCESS`, `FAILURE`, `CANCEL`, … (upstream's word).
    pub status: String,
    /// Upstream's progress text (`"0%"` … `"100%"`).
    pub progress: String,
    pub image_url: Option<String>,
    pub fail_reason: Option<String>,
    /// JSON array.
    pub buttons: serde_json::Value,
    /// JSON object.
    pub properties: serde_json::Value,
    pub notify_hook: Option<String>,
    /// Epoch milliseconds, as the MJ API reports them.
    pub submit_time: Option<i64>,
    pub start_time: Option<i64>,
    pub finish_time: Option<i64>,
    /// Money charged at submission.
    pub cost: i64,
    /// Whether `cost` has been given back (see `Store::refund_mj_task`).
    pub refunded: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A task to record. `buttons` / `properties` left `Null` are stored as `[]` / `{}`.
#[derive(Debug, Clone, Default)]
pub struct NewMjTask {
    pub upstream_id: String,
    pub user_id: i64,
    pub key_id: i64,
    pub channel_id: i64,
    pub action: String,
    pub mode: Option<MjMode>,
    pub prompt: Option<String>,
    pub state: Option<String>,
    pub status: String,
    pub progress: String,
    pub properties: serde_json::Value,
    pub buttons: serde_json::Value,
    pub notify_hook: Option<String>,
    pub submit_time: Option<i64>,
    pub cost: i64,
}

/// Partial update of a task from the upstream's view of it: `None` leaves a field as it is.
/// `buttons` / `properties` set to `Null` are stored as `[]` / `{}`.
#[derive(Debug, Clone, Default)]
pub struct MjTaskUpdate {
    pub status: Option<String>,
    pub progress: Option<String>,
    pub image_url: Option<Option<String>>,
    pub fail_reason: Option<Option<String>>,
    pub buttons: Option<serde_json::Value>,
    pub properties: Option<serde_json::Value>,
    pub prompt_en: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub start_time: Option<Option<i64>>,
    pub finish_time: Option<Option<i64>>,
}

/// A redemption code: `amount` added to the balance of the user who redeems it, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedemptionCode {
    pub id: i64,
    pub code: String,
    pub amount: i64,
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub redeemed_by: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub redeemed_at: Option<DateTime<Utc>>,
}
