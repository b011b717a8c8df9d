use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `text` parsed as a `t.toml` with no environment variables set.
fn parse(text: &str) -> Result<FileConfig, ConfigError> {
    FileConfig::parse("t.toml", text, &env(&[]))
}

#[test]
fn flag_beats_toml_beats_default() {
    let file = parse("listen = \"127.0.0.1:4000\"\nmax_retries = 5\nshutdown_grace = 3\n").unwrap();
    let args = SettingsArgs {
        max_retries: Some(1),
        ..Default::default()
    };
    let (s, _) = resolve(&args, file).unwrap();
    assert_eq!(s.listen.port(), 4000);
    assert_eq!(s.max_retries, 1);
    assert_eq!(s.shutdown_grace, Duration::from_secs(3));
    assert_eq!(s.upstream_idle_timeout, Duration::from_secs(120));
    assert_eq!(s.database_url, "sqlite://data/tollgate.db");
}

#[test]
fn expands_env_in_strings_and_rejects_missing() {
    let text = "[[channels]]\nname = \"c\"\nkind = \"openai\"\nbase_url = \"http://x\"\nkeys = [\"${UP_KEY}\", \"a-${UP_KEY}-b\"]\nmodels = [\"m\"]\n";
    let file = FileConfig::parse("t.toml", text, &env(&[("UP_KEY", "sekret")])).unwrap();
    assert_eq!(
        file.declared.channels[0].keys,
        vec!["sekret".to_owned(), "a-sekret-b".to_owned()]
    );
    let err = parse(text).unwrap_err();
    assert!(err.to_string().contains("UP_KEY"), "{err}");
}

#[test]
fn unknown_keys_are_errors() {
    let err = parse("lisen = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
}

#[test]
fn database_url_takes_sqlite_and_postgres_only() {
    let resolve_url = |url: &str| {
        let args = SettingsArgs {
            database_url: Some(url.to_owned()),
            ..Default::default()
        };
        resolve(&args, FileConfig::default()).map(|(s, _)| s.database_url)
    };
    for ok in [
        "sqlite://data/t.db",
        "sqlite::memory:",
        "postgres://u@localhost/db",
        "postgresql://u@localhost:5432/db?sslmode=disable",
    ] {
        assert_eq!(resolve_url(ok).unwrap(), ok);
    }
    let err = resolve_url("mysql://u@localhost/db").unwrap_err();
    assert!(err.to_string().contains("postgres://"), "{err}");
}

#[test]
fn trusted_proxies_and_hostile_limits() {
    let file = parse("trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nmax_keys_per_user = 3\nlog_retention_days = 0\n")
    .unwrap();
    let (s, _) = resolve(&SettingsArgs::default(), file).unwrap();
    assert_eq!(s.trusted_proxies.len(), 2);
    assert!(s.trusted_proxies[1].contains(&"::1".parse::<std::net::IpAddr>().unwrap()));
    assert_eq!(s.max_keys_per_user, 3);
    assert_eq!(s.log_retention_days, None);
    let (d, _) = resolve(&SettingsArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(d.log_retention_days, Some(90));
    assert_eq!(d.max_images_per_request, 100);
    assert_eq!(d.default_max_output_tokens, 16_384);
    let args = SettingsArgs {
        trusted_proxies: Some("10.0.0.0/8, nonsense".to_owned()),
        ..Default::default()
    };
    let err = resolve(&args, FileConfig::default()).unwrap_err();
    assert!(err.to_string().contains("nonsense"), "{err}");
}

#[test]
fn declared_channel_modes_are_the_known_ones() {
    let channel = |modes: &str| {
        format!(
            "[[channels]]\nname = \"mj\"\nkind = \"midjourney\"\nbase_url = \"http://x\"\nmodes = {modes}\n"
        )
    };
    let file = parse(&channel("[\"fast\", \"turbo\"]")).unwrap();
    assert_eq!(
        file.declared.channels[0].modes,
        Some(vec![api_types::MjMode::Fast, api_types::MjMode::Turbo])
    );
    let err = parse(&channel("[\"warp\"]")).unwrap_err();
    assert!(err.to_string().contains("warp"), "{err}");
}
