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
//!
//! The helpers are here; the Dockerfile's tests are in `dockerfile`, the compose file's and `docs/deploy.md`'s in
//! `deploy`.

mod deploy;
mod dockerfile;

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
