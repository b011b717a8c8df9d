//! Records the git commit the binary is built from, for `tollgate --version`. Outside a git checkout (a source
//! tarball, `cargo install` from a copy) the commit is `unknown`, or `TOLLGATE_GIT_COMMIT` when the builder sets it
//! (the Dockerfile does).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TOLLGATE_GIT_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = std::env::var("TOLLGATE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TOLLGATE_GIT_COMMIT={commit}");
}
