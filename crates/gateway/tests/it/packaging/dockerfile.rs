//! The Dockerfile: only what the binary accepts, its environment parses and migrates, its `HEALTHCHECK` works,
//! and `--version` names the package version and the commit the image is built from.

use super::*;

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
