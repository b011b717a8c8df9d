//! The command line: `tollgate serve | migrate | check-config`, every setting with its flag and environment variable.

use super::LogFormat;
use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Shown under `tollgate --help`, so the top-level help documents every setting, not only the subcommands.
const SETTINGS_HELP: &str = "\
Settings (flag / environment variable / TOML key; see `tollgate serve --help`):
  --config                      TOLLGATE_CONFIG                       TOML file
  --listen                      TOLLGATE_LISTEN                       listen             [127.0.0.1:3000]
  --database-url                DATABASE_URL                          database_url       [sqlite://data/tollgate.db]
  --redis-url                   REDIS_URL                             redis_url          [none]
  --admin-token                 TOLLGATE_ADMIN_TOKEN                  admin_token        [generated once]
  --upstream-connect-timeout    TOLLGATE_UPSTREAM_CONNECT_TIMEOUT     upstream_connect_timeout    [10 s]
  --upstream-first-byte-timeout TOLLGATE_UPSTREAM_FIRST_BYTE_TIMEOUT  upstream_first_byte_timeout [60 s]
  --upstream-idle-timeout       TOLLGATE_UPSTREAM_IDLE_TIMEOUT        upstream_idle_timeout       [120 s]
  --shutdown-grace              TOLLGATE_SHUTDOWN_GRACE               shutdown_grace     [30 s]
  --probe-interval              TOLLGATE_PROBE_INTERVAL               probe_interval     [60 s]
  --max-retries                 TOLLGATE_MAX_RETRIES                  max_retries        [2]
  --max-body-bytes              TOLLGATE_MAX_BODY_BYTES               max_body_bytes     [33554432]
  --auth-failure-limit          TOLLGATE_AUTH_FAILURE_LIMIT           auth_failure_limit [30 per IP per minute]
  --client-header-timeout       TOLLGATE_CLIENT_HEADER_TIMEOUT        client_header_timeout [10 s]
  --client-body-timeout         TOLLGATE_CLIENT_BODY_TIMEOUT          client_body_timeout   [60 s]
  --log-retention-days          TOLLGATE_LOG_RETENTION_DAYS           log_retention_days [90; 0 = keep]
  --log-format                  TOLLGATE_LOG_FORMAT                   log_format         [text | json]
  --allow-private-image-urls    TOLLGATE_ALLOW_PRIVATE_IMAGE_URLS     allow_private_image_urls [false]
  --image-max-bytes             TOLLGATE_IMAGE_MAX_BYTES              image_max_bytes    [20971520]
  --allow-registration          TOLLGATE_ALLOW_REGISTRATION           allow_registration [false]
  --image-timeout               TOLLGATE_IMAGE_TIMEOUT                image_timeout      [15 s]
  --public-url                  TOLLGATE_PUBLIC_URL                   public_url         [request Host]
  --mj-poll-interval            TOLLGATE_MJ_POLL_INTERVAL             mj_poll_interval   [5 s]
  --mj-task-timeout             TOLLGATE_MJ_TASK_TIMEOUT              mj_task_timeout    [3600 s]
  --mj-image-ttl                TOLLGATE_MJ_IMAGE_TTL                 mj_image_ttl       [86400 s]
  --secret-key                  TOLLGATE_SECRET_KEY                   secret_key         [keys stored as given]
  --secret-key-previous         TOLLGATE_SECRET_KEY_PREVIOUS          secret_key_previous [none]
  --trusted-proxies             TOLLGATE_TRUSTED_PROXIES              trusted_proxies    [none]
  --max-images-per-request      TOLLGATE_MAX_IMAGES_PER_REQUEST       max_images_per_request [100]
  --max-keys-per-user           TOLLGATE_MAX_KEYS_PER_USER            max_keys_per_user  [20]
  --default-max-output-tokens   TOLLGATE_DEFAULT_MAX_OUTPUT_TOKENS    default_max_output_tokens [16384]
  --metrics-token               TOLLGATE_METRICS_TOKEN                metrics_token      [open]
Process log filter: TOLLGATE_LOG (e.g. info, debug).";

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("TOLLGATE_GIT_COMMIT"), ")"),
    about = "Tollgate: a self-hosted, OpenAI-compatible LLM API gateway with keys, quotas, billing and failover.",
    long_about = "Tollgate: a self-hosted, OpenAI-compatible LLM API gateway.\n\n\
Every setting is a flag, an environment variable and a key of the optional TOML file (--config), in that order of \
precedence. Durations are in seconds. The TOML file may also declare [[channels]], [[users]], [[keys]], [[prices]] \
and [[groups]], upserted by name at start-up; ${ENV_VAR} inside its strings is expanded.",
    after_help = SETTINGS_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (creates the SQLite database and applies migrations on first start).
    Serve(SettingsArgs),
    /// Apply the embedded database migrations and exit.
    Migrate(SettingsArgs),
    /// Read and validate the configuration (flags, environment, TOML) without starting; prints the resolved settings.
    CheckConfig(SettingsArgs),
    /// Import another gateway's database into this one.
    #[command(subcommand)]
    Import(ImportSource),
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// From new-api or one-api (SQLite, PostgreSQL or MySQL): channels, users and balances, keys (their
    /// secrets keep working), prices, groups, unused redemption codes and unfinished Midjourney tasks.
    /// Idempotent: a second run updates what the first created.
    NewApi(NewApiImportArgs),
}

/// Every setting, declared once: clap reads it from the flags and environment, serde from the TOML file's
/// top-level keys (an unknown key is an error there, so a typo does not pass silently).
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsArgs {
    /// TOML configuration file. TOML key: (none)
    #[arg(long, env = "TOLLGATE_CONFIG", value_name = "PATH")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000]. TOML key: listen
    #[arg(long, env = "TOLLGATE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Database: sqlite://path/to/file.db or postgres://user@host/db [default: sqlite://data/tollgate.db].
    /// TOML key: database_url
    #[arg(long, env = "DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Redis URL for shared state across instances (optional; reserved for scale-out). TOML key: redis_url
    #[arg(long, env = "REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,
    /// Admin API token. If none is configured, one is generated on first start, printed once and stored hashed.
    /// TOML key: admin_token
    #[arg(
        long,
        env = "TOLLGATE_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Seconds to establish an upstream connection [default: 10]. TOML key: upstream_connect_timeout
    #[arg(long, env = "TOLLGATE_UPSTREAM_CONNECT_TIMEOUT", value_name = "SECS")]
    pub upstream_connect_timeout: Option<u64>,
    /// Seconds until the upstream's response head arrives [default: 60]. TOML key: upstream_first_byte_timeout
    #[arg(
        long,
        env = "TOLLGATE_UPSTREAM_FIRST_BYTE_TIMEOUT",
        value_name = "SECS"
    )]
    pub upstream_first_byte_timeout: Option<u64>,
    /// Longest gap in seconds between streamed upstream bytes [default: 120]. TOML key: upstream_idle_timeout
    #[arg(long, env = "TOLLGATE_UPSTREAM_IDLE_TIMEOUT", value_name = "SECS")]
    pub upstream_idle_timeout: Option<u64>,
    /// Seconds to let in-flight requests and streams finish after SIGTERM [default: 30]. TOML key: shutdown_grace
    #[arg(long, env = "TOLLGATE_SHUTDOWN_GRACE", value_name = "SECS")]
    pub shutdown_grace: Option<u64>,
    /// Seconds between re-tests of disabled upstream keys [default: 60]. TOML key: probe_interval
    #[arg(long, env = "TOLLGATE_PROBE_INTERVAL", value_name = "SECS")]
    pub probe_interval: Option<u64>,
    /// Further channels tried after a retryable upstream failure; 0 disables retries [default: 2]. TOML key: max_retries
    #[arg(long, env = "TOLLGATE_MAX_RETRIES", value_name = "N")]
    pub max_retries: Option<u32>,
    /// Largest accepted request body in bytes [default: 33554432]. TOML key: max_body_bytes
    #[arg(long, env = "TOLLGATE_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Failed key attempts per client IP per minute before answering 429 [default: 30]. TOML key: auth_failure_limit
    #[arg(long, env = "TOLLGATE_AUTH_FAILURE_LIMIT", value_name = "N")]
    pub auth_failure_limit: Option<u32>,
    /// Seconds within which a client must send the request head [default: 10]. TOML key: client_header_timeout
    #[arg(long, env = "TOLLGATE_CLIENT_HEADER_TIMEOUT", value_name = "SECS")]
    pub client_header_timeout: Option<u64>,
    /// Seconds within which a client must send the whole request body [default: 60]. TOML key: client_body_timeout
    #[arg(long, env = "TOLLGATE_CLIENT_BODY_TIMEOUT", value_name = "SECS")]
    pub client_body_timeout: Option<u64>,
    /// Delete request logs older than this many days; 0 keeps them forever [default: 90]. TOML key:
    /// log_retention_days
    #[arg(long, env = "TOLLGATE_LOG_RETENTION_DAYS", value_name = "DAYS")]
    pub log_retention_days: Option<u32>,
    /// Process log format: text or json [default: text]. TOML key: log_format
    #[arg(long, env = "TOLLGATE_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Allow downloading client-supplied image URLs from loopback, private and link-local addresses (refused by
    /// default). TOML key: allow_private_image_urls
    #[arg(long, env = "TOLLGATE_ALLOW_PRIVATE_IMAGE_URLS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_image_urls: Option<bool>,
    /// Let anyone create a user account from the dashboard's login page (off by default: the admin creates
    /// users). TOML key: allow_registration
    #[arg(long, env = "TOLLGATE_ALLOW_REGISTRATION", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_registration: Option<bool>,
    /// Largest image the gateway downloads for a provider, in bytes [default: 20971520]. TOML key: image_max_bytes
    #[arg(long, env = "TOLLGATE_IMAGE_MAX_BYTES", value_name = "BYTES")]
    pub image_max_bytes: Option<usize>,
    /// Seconds allowed for one image download [default: 15]. TOML key: image_timeout
    #[arg(long, env = "TOLLGATE_IMAGE_TIMEOUT", value_name = "SECS")]
    pub image_timeout: Option<u64>,
    /// Public base URL of the gateway, used in Midjourney image links [default: the request's Host].
    /// TOML key: public_url
    #[arg(long, env = "TOLLGATE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Seconds between polls of unfinished Midjourney tasks [default: 5]. TOML key: mj_poll_interval
    #[arg(long, env = "TOLLGATE_MJ_POLL_INTERVAL", value_name = "SECS")]
    pub mj_poll_interval: Option<u64>,
    /// Seconds after which an unfinished Midjourney task fails and is refunded [default: 3600].
    /// TOML key: mj_task_timeout
    #[arg(long, env = "TOLLGATE_MJ_TASK_TIMEOUT", value_name = "SECS")]
    pub mj_task_timeout: Option<u64>,
    /// Lifetime in seconds of signed Midjourney image links [default: 86400]. TOML key: mj_image_ttl
    #[arg(long, env = "TOLLGATE_MJ_IMAGE_TTL", value_name = "SECS")]
    pub mj_image_ttl: Option<u64>,
    /// Encrypt upstream channel keys at rest with this secret (a long random string; AES-256-GCM). Existing
    /// plaintext keys are sealed at start-up. TOML key: secret_key
    #[arg(
        long,
        env = "TOLLGATE_SECRET_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// Comma-separated earlier secret keys, accepted for reading while rotating: start once with the new
    /// --secret-key and the old one here, and every key is re-sealed with the new one. TOML key: secret_key_previous
    #[arg(
        long,
        env = "TOLLGATE_SECRET_KEY_PREVIOUS",
        value_name = "SECRETS",
        hide_env_values = true
    )]
    pub secret_key_previous: Option<String>,
    /// Comma-separated CIDRs of reverse proxies whose X-Forwarded-For / Forwarded headers name the client
    /// (e.g. 10.0.0.0/8,::1/128) [default: none, the TCP peer is the client]. TOML key: trusted_proxies
    #[arg(long, env = "TOLLGATE_TRUSTED_PROXIES", value_name = "CIDRS")]
    #[serde(default, deserialize_with = "list_or_text")]
    pub trusted_proxies: Option<String>,
    /// Most images one request may carry; more is a 400 [default: 100]. TOML key: max_images_per_request
    #[arg(long, env = "TOLLGATE_MAX_IMAGES_PER_REQUEST", value_name = "N")]
    pub max_images_per_request: Option<usize>,
    /// Most API keys a user may hold when creating keys from the dashboard [default: 20].
    /// TOML key: max_keys_per_user
    #[arg(long, env = "TOLLGATE_MAX_KEYS_PER_USER", value_name = "N")]
    pub max_keys_per_user: Option<usize>,
    /// Output ceiling (tokens) of a model whose price row names no max_output_tokens [default: 16384].
    /// TOML key: default_max_output_tokens
    #[arg(
        long,
        env = "TOLLGATE_DEFAULT_MAX_OUTPUT_TOKENS",
        value_name = "TOKENS"
    )]
    pub default_max_output_tokens: Option<u64>,
    /// Bearer token that GET /metrics requires [default: none, open]. TOML key: metrics_token
    #[arg(
        long,
        env = "TOLLGATE_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
}

/// A TOML list of strings or one comma-separated string, as one comma-separated string (`trusted_proxies`).
fn list_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(Some(match ListOrText::deserialize(d)? {
        ListOrText::List(list) => list.join(","),
        ListOrText::Text(text) => text,
    }))
}

/// `tollgate import new-api`: the source database and the target's settings.
#[derive(Debug, Clone, Args)]
pub struct NewApiImportArgs {
    /// The new-api / one-api database: a SQLite file path, postgres://…, mysql://… or new-api's SQL_DSN form
    /// user:pass@tcp(host:3306)/db. Only read.
    #[arg(long, value_name = "DATABASE")]
    pub from: String,
    /// Read and convert everything and report what would change, then roll back: nothing is written.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to import to: Tollgate's own settings (--database-url, --secret-key, …), as for `serve`.
    #[command(flatten)]
    pub settings: SettingsArgs,
}
