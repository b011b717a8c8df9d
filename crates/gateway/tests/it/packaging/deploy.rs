//! `docker-compose.yml`, the systemd unit and environment file of `docs/deploy.md`, and the rest of that page.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// docker-compose.yml (a line-based reading of the block-style YAML it is written in).

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The lines nested under `key:` among the least-indented lines of `block`.
fn yaml_child<'a>(block: &[&'a str], key: &str) -> Option<Vec<&'a str>> {
    let at = block.iter().map(|l| indent(l)).min()?;
    let start = block
        .iter()
        .position(|l| indent(l) == at && l.trim() == format!("{key}:"))?;
    Some(
        block[start + 1..]
            .iter()
            .take_while(|l| indent(l) > at)
            .copied()
            .collect(),
    )
}

/// The inline value of `key: value` among the least-indented lines of `block`.
fn yaml_scalar(block: &[&str], key: &str) -> Option<String> {
    let at = block.iter().map(|l| indent(l)).min()?;
    block.iter().filter(|l| indent(l) == at).find_map(|l| {
        let (k, v) = l.trim().split_once(':')?;
        (k == key && !v.trim().is_empty()).then(|| v.trim().to_owned())
    })
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v)
        .to_owned()
}

/// `NAME: value` or `- NAME=value` entries.
fn yaml_env(block: &[&str]) -> BTreeMap<String, String> {
    block
        .iter()
        .filter_map(|l| {
            let l = l.trim();
            match l.strip_prefix("- ") {
                Some(item) => {
                    let (k, v) = unquote(item)
                        .split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))?;
                    Some((k, v))
                }
                None => {
                    let (k, v) = l.split_once(':')?;
                    Some((k.trim().to_owned(), unquote(v)))
                }
            }
        })
        .collect()
}

/// A compose command: a flow sequence (`["serve", "--x"]`) or a string.
fn yaml_command(v: &str) -> Vec<String> {
    if v.starts_with('[') {
        exec_form(v, "compose command")
    } else {
        unquote(v).split_whitespace().map(str::to_owned).collect()
    }
}

/// Compose's interpolation as the operator would fill it: `${X:-default}` → default, `${X:?message}` (required) and
/// `${X}` → a stand-in value long enough for any setting (the secret key needs 16 characters).
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unclosed ${{ in {value}"));
        let expr = &after[..end];
        let name_end = expr
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expr.len());
        let modifier = &expr[name_end..];
        let default = modifier
            .strip_prefix(":-")
            .or_else(|| modifier.strip_prefix('-'));
        match default {
            Some(d) => out.push_str(d),
            None => out.push_str("set-by-the-operator-0123456789"),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn compose_uses_only_what_the_binary_accepts_and_its_environment_parses() {
    let accepted = accepted();
    let docker = Dockerfile::load();
    let args_exempt = docker.arg_names();
    let text = read("docker-compose.yml");
    let mut problems = accepted.check_names(&text, &args_exempt, "docker-compose.yml");

    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let services = yaml_child(&lines, "services").expect("services:");
    let service = yaml_child(&services, "tollgate").expect("services: tollgate:");
    for name in ["postgres", "redis"] {
        let other = yaml_child(&services, name).unwrap_or_else(|| panic!("services: {name}:"));
        assert!(
            yaml_child(&other, "healthcheck").is_some(),
            "{name} has a healthcheck"
        );
        let depends = yaml_child(&service, "depends_on").expect("tollgate: depends_on:");
        let on = yaml_child(&depends, name).unwrap_or_else(|| panic!("tollgate depends on {name}"));
        assert_eq!(
            yaml_scalar(&on, "condition").as_deref(),
            Some("service_healthy"),
            "tollgate waits for {name} to be healthy"
        );
    }

    // Build arguments are the Dockerfile's ARGs, not settings.
    if let Some(args) = yaml_child(&service, "build").and_then(|b| yaml_child(&b, "args")) {
        for name in yaml_env(&args).keys() {
            if !args_exempt.contains(name) {
                problems.push(format!(
                    "docker-compose.yml: build arg `{name}` is not an ARG of the Dockerfile"
                ));
            }
        }
    }

    let env = yaml_env(&yaml_child(&service, "environment").expect("tollgate: environment:"));
    for name in env.keys().filter(|n| is_setting_name(n)) {
        if !accepted.env.contains(name) {
            problems.push(format!(
                "docker-compose.yml: sets `{name}`, which the binary does not read"
            ));
        }
    }
    let entrypoint = yaml_scalar(&service, "entrypoint")
        .map(|e| yaml_command(&e))
        .unwrap_or_else(|| exec_form(docker.last("ENTRYPOINT").unwrap(), "ENTRYPOINT"));
    let command = yaml_scalar(&service, "command")
        .map(|c| yaml_command(&c))
        .unwrap_or_else(|| exec_form(docker.last("CMD").unwrap(), "CMD"));
    let argv: Vec<String> = entrypoint.into_iter().chain(command).collect();
    let args =
        tollgate_args(&argv).unwrap_or_else(|| panic!("compose runs {argv:?}, not tollgate"));
    problems.extend(accepted.check_invocation(&args, "docker-compose.yml command"));
    assert_no_problems(&problems);

    for required in ["TOLLGATE_ADMIN_TOKEN", "TOLLGATE_SECRET_KEY"] {
        assert!(
            env.get(required)
                .is_some_and(|v| v.starts_with(&format!("${{{required}:?"))),
            "{required} must be required from the operator's environment (${{{required}:?…}})"
        );
    }
    assert!(
        env.get("DATABASE_URL")
            .is_some_and(|v| v.starts_with("postgres://"))
    );
    assert_eq!(
        env.get("REDIS_URL").map(String::as_str),
        Some("redis://redis:6379")
    );

    // The service's environment, interpolated as compose would, on top of the image's ENV.
    let mut resolved = docker.env();
    for (k, v) in &env {
        resolved.insert(k.clone(), interpolate(v));
    }
    let dir = temp_dir("compose-env");
    assert_env_parses(
        &resolved,
        &args[1..],
        &dir,
        "docker-compose.yml environment",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------------------------
// docs/deploy.md: the systemd unit, its env file, and the rest of the page.

/// The body of the one fenced block whose info string contains `title="<title>"`.
fn titled_block(page: &str, title: &str) -> String {
    let marker = format!("title=\"{title}\"");
    let mut blocks = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        if let Some(info) = line.trim_start().strip_prefix("```")
            && info.contains(&marker)
        {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.trim_start().starts_with("```"))
                .collect();
            blocks.push(body.join("\n"));
        }
    }
    assert_eq!(
        blocks.len(),
        1,
        "docs/deploy.md must have exactly one fenced block with {marker} in its info string"
    );
    blocks.remove(0)
}

/// `Key=Value` lines of a unit or env file (comments and `[Section]` headers skipped).
fn key_values(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with('#') && !l.starts_with(';') && !l.starts_with('[')
        })
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn systemd_unit_and_env_file_use_only_what_the_binary_accepts_and_parse() {
    let accepted = accepted();
    let exempt = Dockerfile::load().arg_names();
    let page = read("docs/deploy.md");
    let unit = titled_block(&page, "tollgate.service");
    let env_file = titled_block(&page, "tollgate.env");
    let mut problems = accepted.check_names(&unit, &exempt, "tollgate.service");
    problems.extend(accepted.check_names(&env_file, &exempt, "tollgate.env"));

    let unit_settings = key_values(&unit);
    let mut runs_serve = false;
    for (key, value) in unit_settings.iter().filter(|(k, _)| k.starts_with("Exec")) {
        // systemd's prefixes: - @ : + ! (ignore failure, argv0, no env expansion, privileges).
        let command = value.trim_start_matches(['-', '@', ':', '+', '!']);
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if let Some(args) = tollgate_args(&argv) {
            runs_serve |= key == "ExecStart" && args.first().is_some_and(|a| a == "serve");
            problems.extend(accepted.check_invocation(&args, &format!("tollgate.service {key}")));
        }
    }
    for (key, value) in unit_settings.iter().filter(|(k, _)| k == "Environment") {
        for assignment in value.split_whitespace() {
            let name = assignment
                .trim_matches('"')
                .split('=')
                .next()
                .unwrap_or_default();
            if is_setting_name(name) && !accepted.env.contains(name) {
                problems.push(format!(
                    "tollgate.service {key}: `{name}` is not read by the binary"
                ));
            }
        }
    }
    assert_no_problems(&problems);
    assert!(runs_serve, "the unit's ExecStart runs `tollgate serve`");
    let get = |k: &str| {
        unit_settings
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("EnvironmentFile").map(|p| p.trim_start_matches('-')),
        Some("/etc/tollgate/tollgate.env"),
        "the unit reads the env file the page shows"
    );
    assert_eq!(get("StateDirectory"), Some("tollgate"));
    assert_eq!(get("WorkingDirectory"), Some("/var/lib/tollgate"));

    // The env file's settings (not the commented-out examples) parse, and its database opens and migrates.
    let env: BTreeMap<String, String> = key_values(&env_file).into_iter().collect();
    for name in env.keys().filter(|n| is_setting_name(n)) {
        assert!(
            accepted.env.contains(name),
            "tollgate.env sets `{name}`, which the binary does not read"
        );
    }
    let dir = temp_dir("systemd-env");
    assert_env_parses(&env, &[], &dir, "tollgate.env");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deploy_page_mentions_only_settings_and_commands_the_binary_accepts() {
    let accepted = accepted();
    let exempt = Dockerfile::load().arg_names();
    let page = read("docs/deploy.md");
    let mut problems = accepted.check_names(&page, &exempt, "docs/deploy.md");

    // Shell lines with their backslash continuations joined, each with the number of its first line.
    let mut shell_lines: Vec<(usize, String)> = Vec::new();
    let mut in_shell = false;
    let mut fence_open = false;
    let mut continued = false;
    for (number, line) in page.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            fence_open = !fence_open;
            in_shell = fence_open
                && matches!(
                    info.split_whitespace().next(),
                    Some("sh" | "bash" | "console")
                );
            continued = false;
            continue;
        }
        if !in_shell {
            continue;
        }
        let code = line.split(" #").next().unwrap_or_default().trim_end();
        let (code, continues) = match code.strip_suffix('\\') {
            Some(code) => (code, true),
            None => (code, false),
        };
        match shell_lines.last_mut() {
            Some((_, joined)) if continued => joined.push_str(code),
            _ => shell_lines.push((number + 1, code.to_owned())),
        }
        continued = continues;
    }
    let mut invocations = 0;
    for (number, code) in &shell_lines {
        for command in code.split(['&', ';', '|']) {
            // Past `sudo` and `NAME=value` prefixes to the program.
            let argv: Vec<String> = command
                .split_whitespace()
                .skip_while(|t| *t == "sudo" || (t.contains('=') && !t.starts_with('-')))
                .map(str::to_owned)
                .collect();
            if let Some(args) = tollgate_args(&argv) {
                invocations += 1;
                let origin = format!("docs/deploy.md line {number}");
                problems.extend(accepted.check_invocation(&args, &origin));
            }
        }
    }
    assert_no_problems(&problems);
    assert!(
        invocations >= 3,
        "the page's `tollgate …` command lines were found ({invocations})"
    );
}
