//! Reads the TOML file (with `${ENV}` expansion) and merges it under the flags and environment variables.

use super::cli::SettingsArgs;
use super::{Declared, Settings};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error(
        "config file {path}: environment variable `{var}` is not set (referenced as ${{{var}}})"
    )]
    MissingEnv { path: String, var: String },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// The TOML file: every setting (its top-level keys, read into the same [`SettingsArgs`] the flags fill) plus
/// declared entities (`[[channels]]`, `[[users]]`, `[[keys]]`, `[[prices]]`, `[[groups]]`).
#[derive(Debug, Default)]
pub struct FileConfig {
    pub settings: SettingsArgs,
    pub declared: Declared,
}

/// The TOML tables that declare entities rather than settings.
const ENTITIES: [&str; 5] = ["channels", "users", "keys", "prices", "groups"];

impl FileConfig {
    /// Parses TOML text, expanding `${VAR}` in every string from `env` first.
    pub fn parse(
        path: &str,
        text: &str,
        env: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            path: path.to_owned(),
            message,
        };
        let mut value: toml::Value = toml::from_str(text).map_err(|e| parse_err(e.to_string()))?;
        expand_env(&mut value, env).map_err(|var| ConfigError::MissingEnv {
            path: path.to_owned(),
            var,
        })?;
        let toml::Value::Table(mut settings) = value else {
            return Err(parse_err("expected a table".to_owned()));
        };
        let entities: toml::Table = ENTITIES
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), settings.remove(*name)?)))
            .collect();
        Ok(Self {
            settings: from_table(settings).map_err(parse_err)?,
            declared: from_table(entities).map_err(parse_err)?,
        })
    }

    pub fn read(path: &Path, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&shown, &text, env)
    }
}

fn from_table<T: serde::de::DeserializeOwned>(table: toml::Table) -> Result<T, String> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())
}

fn expand_env(v: &mut toml::Value, env: &HashMap<String, String>) -> Result<(), String> {
    match v {
        toml::Value::String(s) if s.contains("${") => *s = expand_str(s, env)?,
        toml::Value::Array(items) => items.iter_mut().try_for_each(|i| expand_env(i, env))?,
        toml::Value::Table(t) => t.iter_mut().try_for_each(|(_, i)| expand_env(i, env))?,
        _ => {}
    }
    Ok(())
}

fn expand_str(s: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let var = &after[..end];
        out.push_str(env.get(var).ok_or_else(|| var.to_owned())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn secs(v: Option<u64>, default: Duration) -> Duration {
    v.map_or(default, Duration::from_secs)
}

/// Flag/env (already merged by clap) > TOML > default. Pure, so tests pass values directly.
pub fn resolve(args: &SettingsArgs, file: FileConfig) -> Result<(Settings, Declared), ConfigError> {
    let d = Settings::default();
    let (file, declared) = (file.settings, file.declared);
    // A setting: the flag or env (merged by clap), else the file's, else the default.
    macro_rules! pick {
        ($f:ident) => {
            args.$f.or(file.$f).unwrap_or(d.$f)
        };
    }
    macro_rules! seconds {
        ($f:ident) => {
            secs(args.$f.or(file.$f), d.$f)
        };
    }
    macro_rules! text {
        ($f:ident) => {
            args.$f.clone().or(file.$f)
        };
    }
    let settings = Settings {
        listen: pick!(listen),
        database_url: text!(database_url).unwrap_or(d.database_url),
        redis_url: text!(redis_url),
        admin_token: text!(admin_token).filter(|t| !t.is_empty()),
        upstream_connect_timeout: seconds!(upstream_connect_timeout),
        upstream_first_byte_timeout: seconds!(upstream_first_byte_timeout),
        upstream_idle_timeout: seconds!(upstream_idle_timeout),
        shutdown_grace: seconds!(shutdown_grace),
        probe_interval: seconds!(probe_interval),
        max_retries: pick!(max_retries),
        max_body_bytes: pick!(max_body_bytes),
        auth_failure_limit: pick!(auth_failure_limit),
        client_header_timeout: seconds!(client_header_timeout),
        client_body_timeout: seconds!(client_body_timeout),
        log_retention_days: match args.log_retention_days.or(file.log_retention_days) {
            Some(0) => None,
            Some(days) => Some(days),
            None => d.log_retention_days,
        },
        log_format: pick!(log_format),
        allow_private_image_urls: pick!(allow_private_image_urls),
        allow_registration: pick!(allow_registration),
        image_max_bytes: pick!(image_max_bytes),
        image_timeout: seconds!(image_timeout),
        public_url: text!(public_url).map(|u| u.trim_end_matches('/').to_owned()),
        mj_poll_interval: seconds!(mj_poll_interval),
        mj_task_timeout: seconds!(mj_task_timeout),
        mj_image_ttl: seconds!(mj_image_ttl),
        secret_key: text!(secret_key).filter(|s| !s.is_empty()),
        secret_key_previous: text!(secret_key_previous)
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        trusted_proxies: match text!(trusted_proxies) {
            Some(list) => parse_cidrs(&list)?,
            None => d.trusted_proxies,
        },
        max_images_per_request: pick!(max_images_per_request),
        max_keys_per_user: pick!(max_keys_per_user),
        default_max_output_tokens: pick!(default_max_output_tokens).max(1),
        metrics_token: text!(metrics_token).filter(|t| !t.is_empty()),
    };
    let url = &settings.database_url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        return Err(ConfigError::Invalid(format!(
            "database_url `{}`: expected sqlite:// or postgres:// (postgresql://)",
            crate::observe::redact::url(url)
        )));
    }
    if settings.probe_interval.is_zero() || settings.upstream_idle_timeout.is_zero() {
        return Err(ConfigError::Invalid(
            "probe_interval and upstream_idle_timeout must be at least 1".into(),
        ));
    }
    Ok((settings, declared))
}

/// A comma-separated list of CIDRs (a bare address is one host).
fn parse_cidrs(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid(format!("trusted_proxies: `{p}` is not a CIDR")))
        })
        .collect()
}

/// Loads the TOML file named by `--config`/`TOLLGATE_CONFIG` (if any) and resolves everything.
pub fn load(args: &SettingsArgs) -> Result<(Settings, Declared), ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let file = match &args.config {
        Some(path) => FileConfig::read(path, &env)?,
        None => FileConfig::default(),
    };
    resolve(args, file)
}

#[cfg(test)]
mod tests;
