//! Rebuilds the crate when a migration is added, since `sqlx::migrate!` only tracks existing files.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
}
