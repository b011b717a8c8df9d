//! Packaging: `Dockerfile`, `docker-compose.yml` and the systemd unit and environment file in `docs/deploy.md` use
//! only what the real binary accepts.
//!
//! No Docker engine or systemd runs the files here, so the test asks the binary instead: `tollgate --help` and
//! `tollgate <command> --help` list the subcommands, the `--flags` and — clap prints `[env: NAME=]` for every
//! setting — the environment variables it reads (plus `TOLLGATE_LOG`, the log filter the top-level help names).
//! Every subcommand, every `--flag` and every `TOLLGATE_*`, `DATABASE_URL` and `REDIS_URL` name the files mention
//! must be among them. The values are parsed for real too: `tollgate check-config` (and `migrate` on a temporary
//! SQLite file) with exactly the environment the Dockerfile sets, the compose service's environment and the env file;
//! the Dockerfile's `HEALTHCHECK` is run against a real `serve`.
//!
//! Where the test looks:
//! * `Dockerfile`: the last stage's `ENV`, `ENTRYPOINT` and `CMD` (exec form), its `HEALTHCHECK` command, and every
//!   variable name anywhere in the file. Names declared with `ARG` are build arguments (`TOLLGATE_GIT_COMMIT`, read
//!   by build.rs), not settings, and are exempt in every file.
//! * `docker-compose.yml`: the `tollgate` service's `environment:` (`NAME: value` or `- NAME=value`), its
//!   `command:` (appended to the image's `ENTRYPOINT`), its `build: args:` (each must be an `ARG` of the
//!   Dockerfile), and every variable name anywhere in the file.
//! * `docs/deploy.md` — the convention: the fenced code block whose info string contains `title="tollgate.service"`
//!   is the systemd unit (its `ExecStart…=` lines are checked as command lines), the one whose info string contains
//!   `title="tollgate.env"` is its environment file (`NAME=value` lines; commented-out `# NAME=value` examples are
//!   checked for their names). Each title occurs exactly once. Besides, every variable name anywhere on the page and
//!   every line of a `sh` block that runs `tollgate …` or `…/tollgate …` is checked.
#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");
/// The root manifest is the `tollgate` package, so this is the repository root.
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel))
        .unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// A fresh, empty temporary directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-packaging-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with exactly `env` (nothing inherited, so a developer's own `TOLLGATE_*` cannot help or hurt).
fn tollgate(args: &[String], env: &BTreeMap<String, String>) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env)
        .output()
        .unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------------------------------------------
// What the binary accepts, read from its help.

struct Accepted {
    /// Subcommand → its `--flags`.
    commands: BTreeMap<String, BTreeSet<String>>,
    /// `--help`, `--version`.
    top_flags: BTreeSet<String>,
    /// Environment variables the binary reads.
    env: BTreeSet<String>,
}

fn help(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = tollgate(&args, &BTreeMap::new());
    assert!(
        out.status.success(),
        "tollgate {args:?}: {}",
        describe(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The lines under `heading` (e.g. `Options:`) up to the next unindented line.
fn help_section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// `--long` names of the option lines (`  -h, --help`, `      --listen <ADDR>`) of an `Options:` section.
fn option_flags(lines: &[&str]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with('-'))
        .flat_map(|l| l.split([' ', ',']).filter(|t| t.starts_with("--")))
        .map(str::to_owned)
        .collect()
}

fn is_setting_name(token: &str) -> bool {
    (token.starts_with("TOLLGATE_") && token.len() > "TOLLGATE_".len())
        || token == "DATABASE_URL"
        || token == "REDIS_URL"
}

/// Every `TOLLGATE_*`, `DATABASE_URL` and `REDIS_URL` in `text`, as whole words.
fn setting_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| is_setting_name(t))
        .map(str::to_owned)
        .collect()
}

fn accepted() -> &'static Accepted {
    static ACCEPTED: OnceLock<Accepted> = OnceLock::new();
    ACCEPTED.get_or_init(|| {
        let top = help(&["--help"]);
        let top_flags = option_flags(&help_section(&top, "Options:"));
        let names: Vec<String> = help_section(&top, "Commands:")
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_owned)
            .collect();
        assert!(
            names.iter().any(|c| c == "serve"),
            "no commands found in:\n{top}"
        );
        let mut env = BTreeSet::new();
        // Read by main.rs outside clap; the top-level help names it on this line.
        for line in top.lines().filter(|l| l.starts_with("Process log filter:")) {
            env.extend(setting_names(line));
        }
        let mut commands = BTreeMap::new();
        // Commands and their subcommands (`import new-api`), each under its full name.
        let mut queue: Vec<Vec<String>> = names.into_iter().map(|n| vec![n]).collect();
        while let Some(path) = queue.pop() {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let text = help(&args);
            for (i, _) in text.match_indices("[env: ") {
                let rest = &text[i + "[env: ".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                env.insert(rest[..end].to_owned());
            }
            for sub in help_section(&text, "Commands:")
                .iter()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|c| *c != "help")
            {
                let mut deeper = path.clone();
                deeper.push(sub.to_owned());
                queue.push(deeper);
            }
            commands.insert(
                path.join(" "),
                option_flags(&help_section(&text, "Options:")),
            );
        }
        assert!(
            env.contains("TOLLGATE_LISTEN") && env.contains("DATABASE_URL"),
            "no [env: …] entries found in the help: {env:?}"
        );
        Accepted {
            commands,
            top_flags,
            env,
        }
    })
}

impl Accepted {
    /// What is wrong with running `tollgate <args>`.
    fn check_invocation(&self, args: &[String], origin: &str) -> Vec<String> {
        let Some(first) = args.first() else {
            return vec![format!("{origin}: `tollgate` without a command")];
        };
        let two = args.get(1).map(|second| format!("{first} {second}"));
        let (command, flags, rest) = if first.starts_with('-') {
            (String::new(), &self.top_flags, args)
        } else if let Some((name, flags)) = two.and_then(|t| self.commands.get_key_value(&t)) {
            (name.clone(), flags, &args[2..])
        } else if let Some(flags) = self.commands.get(first) {
            (first.clone(), flags, &args[1..])
        } else {
            return vec![format!(
                "{origin}: `tollgate {first}` is not a command of the binary (it has {:?})",
                self.commands.keys().collect::<Vec<_>>()
            )];
        };
        rest.iter()
            .filter(|a| a.starts_with("--"))
            .map(|a| a.split('=').next().unwrap_or(a))
            .filter(|flag| !flags.contains(*flag))
            .map(|flag| format!("{origin}: `{flag}` is not a flag of `tollgate {command}`"))
            .collect()
    }

    /// What is wrong with the setting names `text` mentions (`exempt`: the Dockerfile's build arguments).
    fn check_names(&self, text: &str, exempt: &BTreeSet<String>, origin: &str) -> Vec<String> {
        setting_names(text)
            .into_iter()
            .filter(|n| !self.env.contains(n) && !exempt.contains(n))
            .map(|n| format!("{origin}: `{n}` is not an environment variable the binary reads"))
            .collect()
    }
}

fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{}\n(accepted variables: {:?})",
        problems.join("\n"),
        accepted().env
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile.

struct Instruction {
    keyword: String,
    args: String,
}

/// Instructions with their continuation lines joined; comments (and the `# syntax=` directive) skipped.
fn dockerfile_instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if let Some(part) = t.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
            continue;
        }
        current.push_str(t);
        let full = current.trim();
        let (keyword, args) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
        out.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        });
        current.clear();
    }
    out
}

struct Dockerfile {
    text: String,
    /// The build stages' instructions, `FROM` first.
    stages: Vec<Vec<Instruction>>,
}

impl Dockerfile {
    fn load() -> Self {
        let text = read("Dockerfile");
        let mut stages: Vec<Vec<Instruction>> = Vec::new();
        for i in dockerfile_instructions(&text) {
            if i.keyword == "FROM" || stages.is_empty() {
                stages.push(Vec::new());
            }
            if let Some(stage) = stages.last_mut() {
                stage.push(i);
            }
        }
        Dockerfile { text, stages }
    }

    fn runtime(&self) -> &[Instruction] {
        self.stages.last().unwrap()
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.runtime()
            .iter()
            .rev()
            .find(|i| i.keyword == keyword)
            .map(|i| i.args.as_str())
    }

    fn arg_names(&self) -> BTreeSet<String> {
        self.stages
            .iter()
            .flatten()
            .filter(|i| i.keyword == "ARG")
            .filter_map(|i| i.args.split('=').next())
            .map(|n| n.trim().to_owned())
            .collect()
    }

    /// The runtime stage's `ENV`, in order.
    fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for i in self.runtime().iter().filter(|i| i.keyword == "ENV") {
            let tokens: Vec<&str> = i.args.split_whitespace().collect();
            match tokens.first() {
                // The legacy form `ENV NAME value`.
                Some(first) if !first.contains('=') => {
                    env.insert((*first).to_owned(), tokens[1..].join(" "));
                }
                _ => {
                    for t in tokens {
                        let (k, v) = t.split_once('=').unwrap();
                        env.insert(k.to_owned(), v.trim_matches('"').to_owned());
                    }
                }
            }
        }
        env
    }

    /// `ENTRYPOINT` + `CMD` of the runtime stage.
    fn argv(&self) -> Vec<String> {
        let entrypoint = exec_form(self.last("ENTRYPOINT").unwrap(), "ENTRYPOINT");
        let cmd = self
            .last("CMD")
            .map(|c| exec_form(c, "CMD"))
            .unwrap_or_default();
        entrypoint.into_iter().chain(cmd).collect()
    }

    /// The `HEALTHCHECK` command (exec form), if any.
    fn healthcheck(&self) -> Option<Vec<String>> {
        let args = self.last("HEALTHCHECK")?;
        let (_, cmd) = args
            .split_once("CMD ")
            .unwrap_or_else(|| panic!("HEALTHCHECK without CMD: {args}"));
        Some(exec_form(cmd, "HEALTHCHECK CMD"))
    }
}

fn exec_form(args: &str, what: &str) -> Vec<String> {
    serde_json::from_str(args)
        .unwrap_or_else(|e| panic!("{what} must be in exec form (a JSON array): {args}: {e}"))
}

/// `args` after the `tollgate` program in a command line, if the command line runs it.
fn tollgate_args(argv: &[String]) -> Option<Vec<String>> {
    let program = argv.first()?;
    (program == "tollgate" || program.ends_with("/tollgate")).then(|| argv[1..].to_vec())
}

/// `sqlite:///abs/path.db` moved under `dir` (`sqlite://<dir>/abs/path.db`); other URLs unchanged.
fn sqlite_under(dir: &Path, url: &str) -> (String, Option<PathBuf>) {
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            assert!(
                path.starts_with('/'),
                "{url}: a deployed SQLite path should be absolute (sqlite:///…), not relative to the working directory"
            );
            let moved = PathBuf::from(format!("{}{path}", dir.display()));
            (format!("sqlite://{}", moved.display()), Some(moved))
        }
        None => (url.to_owned(), None),
    }
}

/// `tollgate check-config` with `env` succeeds; with a SQLite `DATABASE_URL`, `tollgate migrate` creates the file.
fn assert_env_parses(env: &BTreeMap<String, String>, flags: &[String], dir: &Path, origin: &str) {
    let mut env = env.clone();
    let mut db_file = None;
    if let Some(url) = env.get("DATABASE_URL").cloned() {
        let (url, file) = sqlite_under(dir, &url);
        env.insert("DATABASE_URL".to_owned(), url);
        db_file = file;
    }
    let mut args = vec!["check-config".to_owned()];
    args.extend(flags.iter().cloned());
    let out = tollgate(&args, &env);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("configuration OK"),
        "{origin}: tollgate {args:?} with {env:?}: {}",
        describe(&out)
    );
    if let Some(file) = db_file {
        args[0] = "migrate".to_owned();
        let out = tollgate(&args, &env);
        assert!(
            out.status.success(),
            "{origin}: tollgate {args:?}: {}",
            describe(&out)
        );
        assert!(
            file.exists(),
            "{origin}: migrate created {}",
            file.display()
        );
    }
}

#[test]
fn dockerfile_uses_only_what_the_binary_accepts() {
    let accepted = accepted();
    let docker = Dockerfile::load();
    let args_exempt = docker.arg_names();
    let mut problems = accepted.check_names(&docker.text, &args_exempt, "Dockerfile");
    let argv = docker.argv();
    match tollgate_args(&argv) {
        Some(args) => {
            problems.extend(accepted.check_invocation(&args, "Dockerfile ENTRYPOINT+CMD"))
        }
        None => problems.push(format!(
            "Dockerfile: ENTRYPOINT+CMD {argv:?} does not run tollgate"
        )),
    }
    assert_no_problems(&problems);
    assert_eq!(argv, ["tollgate", "serve"]);

    // The builder: the commit for --version comes in as a build argument that build.rs reads; a locked release build.
    let builder = &docker.stages[0];
    assert!(docker.stages.len() >= 2, "a multi-stage build");
    assert!(
        builder
            .iter()
            .any(|i| i.keyword == "ARG" && i.args.starts_with("TOLLGATE_GIT_COMMIT")),
        "the builder declares ARG TOLLGATE_GIT_COMMIT"
    );
    assert!(read("crates/gateway/build.rs").contains("\"TOLLGATE_GIT_COMMIT\""));
    assert!(
        builder.iter().any(|i| i.keyword == "RUN"
            && i.args.contains("cargo build")
            && i.args.contains("--release")
            && i.args.contains("--locked")),
        "the builder runs cargo build --release --locked"
    );

    // The runtime: not root, the database in the volume, the port exposed.
    let user = docker.last("USER").expect("a USER in the runtime stage");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid != "root" && uid != "0",
        "runs as a non-root user, not {user}"
    );
    assert_eq!(docker.last("WORKDIR"), Some("/data"));
    assert!(docker.last("VOLUME").is_some_and(|v| v.contains("/data")));
    assert_eq!(docker.last("EXPOSE"), Some("3000"));
    let env = docker.env();
    assert_eq!(
        env.get("TOLLGATE_LISTEN").map(String::as_str),
        Some("0.0.0.0:3000")
    );
    let db = env
        .get("DATABASE_URL")
        .expect("DATABASE_URL in the runtime ENV");
    assert!(
        db.starts_with("sqlite:///data/"),
        "the SQLite file is an absolute path inside the /data volume: {db}"
    );
}

#[test]
fn dockerfile_environment_parses_and_migrates() {
    let docker = Dockerfile::load();
    let dir = temp_dir("dockerfile-env");
    let argv = docker.argv();
    // The flags of CMD (none today) with check-config/migrate in place of serve.
    let flags = tollgate_args(&argv).unwrap()[1..].to_vec();
    assert_env_parses(&docker.env(), &flags, &dir, "Dockerfile ENV");
    let _ = std::fs::remove_dir_all(&dir);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn dockerfile_healthcheck_passes_while_serving_and_fails_after() {
    let docker = Dockerfile::load();
    let Some(check) = docker.healthcheck() else {
        // None is fine (the Dockerfile must then say why); there is nothing to run.
        return;
    };
    let dir = temp_dir("healthcheck");
    let port = free_port();
    let mut env = docker.env();
    let (db, _) = sqlite_under(&dir, &env["DATABASE_URL"]);
    env.insert("DATABASE_URL".to_owned(), db);
    env.insert("TOLLGATE_LISTEN".to_owned(), format!("127.0.0.1:{port}"));
    let log = dir.join("serve.log");
    let argv = docker.argv();
    let mut child = Command::new(BIN)
        .args(&argv[1..])
        .env_clear()
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Inside the container the check sees the image's TOLLGATE_LISTEN (0.0.0.0:<port>) and must reach it locally.
    let run_check = || {
        Command::new(&check[0])
            .args(&check[1..])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TOLLGATE_LISTEN", format!("0.0.0.0:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut healthy = false;
    // Until the check passes, serve exits (a bad setting) or 30 s pass.
    while !healthy && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        healthy = run_check();
        if !healthy {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Signalled only while it runs (a reaped pid may belong to another process by now).
    let status = match child.try_wait().unwrap() {
        Some(exited) => exited,
        None => {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            child.wait().unwrap()
        }
    };
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        healthy,
        "HEALTHCHECK never passed against serve: {check:?}\n{log_text}"
    );
    assert!(
        status.success(),
        "serve exits 0 on SIGTERM: {status}\n{log_text}"
    );
    assert!(!run_check(), "HEALTHCHECK fails once nothing listens");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    let out = tollgate(&["--version".to_owned()], &BTreeMap::new());
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let commit = env!("TOLLGATE_GIT_COMMIT");
    assert_eq!(
        text.trim(),
        format!("tollgate {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
    assert!(!commit.is_empty() && !commit.contains(char::is_whitespace));
    // Built from this checkout without an override: the commit is a real one of this repository.
    if Path::new(ROOT).join(".git").exists() && std::env::var_os("TOLLGATE_GIT_COMMIT").is_none() {
        let git = Command::new("git")
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .current_dir(ROOT)
            .status();
        if let Ok(status) = git {
            assert!(
                status.success(),
                "`{commit}` is not a commit of this repository"
            );
        }
    }
}

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
