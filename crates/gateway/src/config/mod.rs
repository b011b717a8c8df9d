//! Process-level settings: where to listen, which database, limits and timers. Each one is a flag, an environment
//! variable and a key of the optional TOML file, in that order of precedence (PRODUCT §1). Runtime data (channels,
//! users, keys, prices) lives in the database; the TOML file may also declare it (see [`declarative`]).

pub mod cli;
pub mod declarative;
pub mod load;
pub mod validate;

pub use cli::{Cli, Command, ImportSource, NewApiImportArgs, SettingsArgs};
pub use declarative::Declared;
pub use load::{ConfigError, FileConfig};

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Fully resolved settings. Secrets are kept out of `Debug`.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub admin_token: Option<String>,
    pub upstream_connect_timeout: Duration,
    pub upstream_first_byte_timeout: Duration,
    pub upstream_idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub probe_interval: Duration,
    pub max_retries: u32,
    pub max_body_bytes: usize,
    pub auth_failure_limit: u32,
    pub client_header_timeout: Duration,
    pub client_body_timeout: Duration,
    pub log_retention_days: Option<u32>,
    pub log_format: LogFormat,
    /// Let the gateway download client-supplied image URLs from loopback/private/link-local addresses.
    pub allow_private_image_urls: bool,
    /// Whether the dashboard offers self-registration.
    pub allow_registration: bool,
    pub image_max_bytes: usize,
    pub image_timeout: Duration,
    /// Public base URL of this gateway (`https://gw.example.com`), used in Midjourney image links; without it the
    /// request's own `Host` is used.
    pub public_url: Option<String>,
    /// How often unfinished Midjourney tasks are polled upstream.
    pub mj_poll_interval: Duration,
    /// A Midjourney task still unfinished after this long is failed and refunded.
    pub mj_task_timeout: Duration,
    /// Lifetime of the signed `/mj/image/{id}` links in task objects.
    pub mj_image_ttl: Duration,
    /// Encrypts upstream channel keys at rest (AES-256-GCM); `None` stores them as given.
    pub secret_key: Option<String>,
    /// Earlier secret keys, still accepted for reading during a rotation.
    pub secret_key_previous: Vec<String>,
    /// Peers (reverse proxies) whose `X-Forwarded-For` / `Forwarded` headers name the client; empty = none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Most images one request may carry (400 above it).
    pub max_images_per_request: usize,
    /// Most API keys a user may hold when creating them from the dashboard.
    pub max_keys_per_user: usize,
    /// A model's output ceiling when its price row names none.
    pub default_max_output_tokens: u64,
    /// Bearer token `/metrics` requires; `None` leaves it open.
    pub metrics_token: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &crate::observe::redact::url(&self.database_url),
            )
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<set>"))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<set>"),
            )
            .field("max_retries", &self.max_retries)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite://data/tollgate.db".to_owned(),
            redis_url: None,
            admin_token: None,
            upstream_connect_timeout: Duration::from_secs(10),
            upstream_first_byte_timeout: Duration::from_secs(60),
            upstream_idle_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(30),
            probe_interval: Duration::from_secs(60),
            max_retries: 2,
            max_body_bytes: 33_554_432,
            auth_failure_limit: 30,
            client_header_timeout: Duration::from_secs(10),
            client_body_timeout: Duration::from_secs(60),
            log_retention_days: Some(90),
            log_format: LogFormat::Text,
            allow_private_image_urls: false,
            allow_registration: false,
            image_max_bytes: 20 * 1024 * 1024,
            image_timeout: Duration::from_secs(15),
            public_url: None,
            mj_poll_interval: Duration::from_secs(5),
            mj_task_timeout: Duration::from_secs(3600),
            mj_image_ttl: Duration::from_secs(86_400),
            secret_key: None,
            secret_key_previous: Vec::new(),
            trusted_proxies: Vec::new(),
            max_images_per_request: 100,
            max_keys_per_user: 20,
            default_max_output_tokens: 16_384,
            metrics_token: None,
        }
    }
}
