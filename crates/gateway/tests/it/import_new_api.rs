//! `tollgate import new-api`, run as the real binary against databases built from new-api's and one-api's real
//! schemas (`tests/fixtures/new_api/`: their GORM models as DDL, and seed rows), on SQLite and on PostgreSQL;
//! then a gateway on the imported store proves the move cost the customers nothing: old keys authenticate and
//! are billed against the converted balance exactly, a multi-key channel rotates, refused keys stay refused.

use crate::browser::Browser;
use crate::harness::{ADMIN, Gw, temp_dir};
use crate::services::{PgSchema, REDIS, redis_up};
use mock_upstream::MockUpstream;
use serde_json::{Value, json};
use sqlx::Connection;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/gateway/tests/fixtures/new_api"
);

const ALICE_MAIN: &str = "sk-aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const ALICE_LIMITED: &str = "sk-aliceBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const ALICE_EXPIRED: &str = "sk-aliceCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
const CAROL_EXHAUSTED: &str = "sk-carolDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD";
const BOB_DISABLED: &str = "sk-bobEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE";

/// Runs `sql`, one statement or several, on a connection to any of the databases.
macro_rules! run_sql {
    ($conn:expr, $sql:expr) => {
        sqlx::raw_sql($sql).execute($conn).await.unwrap()
    };
}

fn fixture(name: &str, mock: &MockUpstream) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name))
        .unwrap()
        .replace("{OPENAI_BASE}", &mock.base_url())
        .replace("{MJ_BASE}", &mock.base_url())
}

/// The engines a new-api database lives on; each gets the schema as GORM creates it there.
#[derive(Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// The column type GORM's AutoMigrate gives each Go field kind (the `{…}` placeholders of
/// `*.schema.sql`), on SQLite, PostgreSQL and MySQL. Every other type in the files is a
/// `type:X` tag, which GORM writes verbatim.
const COLUMN_TYPES: [(&str, [&str; 3]); 9] = [
    ("{pk}", ["integer", "bigserial", "bigint AUTO_INCREMENT"]),
    ("{int64}", ["integer", "bigint", "bigint"]),
    ("{uint}", ["integer", "bigint", "bigint unsigned"]),
    // `type:int` is 32-bit on PostgreSQL; on MySQL GORM sizes it from the Go int (go-gorm/mysql#150).
    ("{type_int}", ["int", "int", "bigint"]),
    ("{bool}", ["numeric", "boolean", "boolean"]),
    ("{float64}", ["real", "decimal", "double"]),
    ("{string}", ["text", "text", "longtext"]),
    // MySQL cannot index or default a TEXT column.
    ("{string_key}", ["text", "text", "varchar(191)"]),
    // GORM's MySQL type is datetime(3), but MariaDB's strict mode rejects the seed's `+00:00`
    // offset there; the importer only asks whether the value is set.
    (
        "{deleted_at}",
        ["datetime", "timestamptz", "varchar(32) NULL"],
    ),
];

impl Dialect {
    /// The schema file `name` (`new-api.schema.sql`, `one-api.schema.sql`) as this engine's DDL.
    fn schema(self, name: &str) -> String {
        let mut sql = std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap();
        for (placeholder, types) in COLUMN_TYPES {
            sql = sql.replace(placeholder, types[self as usize]);
        }
        match self {
            // GORM's mysql migrator quotes with backticks and creates InnoDB utf8mb4 tables.
            Dialect::MySql => sql
                .replace('"', "`")
                .replace("\n);", "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"),
            Dialect::Sqlite | Dialect::Postgres => sql,
        }
    }
}

/// A new-api (or one-api) SQLite database file built from the fixtures.
async fn sqlite_source(schema: &str, seed: &str, mock: &MockUpstream) -> std::path::PathBuf {
    let path = temp_dir().join("one-api.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    run_sql!(&mut conn, &Dialect::Sqlite.schema(schema));
    run_sql!(&mut conn, &fixture(seed, mock));
    conn.close().await.unwrap();
    path
}

/// A fresh directory for the Tollgate database the import writes, and that database's URL.
fn sqlite_target() -> (std::path::PathBuf, String) {
    let dir = temp_dir();
    let url = format!("sqlite://{}/tollgate.db", dir.display());
    (dir, url)
}

fn import(from: &str, target: &str, dry_run: bool) -> Output {
    import_with(from, target, dry_run, &[])
}

fn import_with(from: &str, target: &str, dry_run: bool, extra: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "import",
        "new-api",
        "--from",
        from,
        "--database-url",
        target,
    ]);
    cmd.args(extra);
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd.env_remove("DATABASE_URL").output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "import failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The report's (created, updated, skipped) for `table`.
fn counts(report: &str, table: &str) -> (u64, u64, u64) {
    let line = report
        .lines()
        .find(|l| l.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no {table} line in\n{report}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

/// Dry run (nothing written), import, import again (updates only).
fn import_three_times(from: &str, target: &str) {
    import_three_times_with(from, target, &[]);
}

fn import_three_times_with(from: &str, target: &str, extra: &[&str]) {
    let import =
        |from: &str, target: &str, dry_run: bool| import_with(from, target, dry_run, extra);
    let dry = stdout(&import(from, target, true));
    assert!(dry.contains("nothing was written"), "{dry}");
    assert_eq!(counts(&dry, "users"), (4, 0, 0), "{dry}");
    let first = stdout(&import(from, target, false));
    // The dry run wrote nothing: the real run creates the same rows.
    assert_eq!(counts(&first, "users"), (4, 0, 0), "{first}");
    assert_eq!(counts(&first, "channels"), (8, 0, 0), "{first}");
    assert_eq!(counts(&first, "keys"), (5, 0, 0), "{first}");
    assert_eq!(counts(&first, "codes"), (2, 0, 0), "{first}");
    assert_eq!(counts(&first, "mj_tasks"), (2, 0, 0), "{first}");
    assert!(
        first.contains("DeepSeek has no Tollgate adapter"),
        "{first}"
    );
    assert!(
        first.contains("parameter overrides (param_override) are not carried"),
        "{first}"
    );
    assert!(
        first.contains("request log rows are not imported"),
        "{first}"
    );
    let second = stdout(&import(from, target, false));
    assert_eq!(counts(&second, "users"), (0, 4, 0), "{second}");
    assert_eq!(counts(&second, "channels"), (0, 8, 0), "{second}");
    assert_eq!(counts(&second, "keys"), (0, 5, 0), "{second}");
    assert_eq!(counts(&second, "codes"), (0, 2, 0), "{second}");
}

async fn chat(gw: &Gw, key: &str, model: &str) -> reqwest::Response {
    gw.post_as(
        key,
        "/v1/chat/completions",
        &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
}

async fn get_json(gw: &Gw, path: &str, bearer: &str) -> Value {
    let resp = gw.get_as(bearer, path).await;
    resp.json().await.unwrap()
}

/// Waits (up to 5 s) for settlement, which finishes after the answer.
async fn until<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !check().await && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// What the customers of the imported installation see.
async fn customers_notice_nothing(gw: &Gw, mock: &MockUpstream) {
    let alice = gw.user("alice").await;
    // 1,000,000 quota = $2 = 2,000,000 micro-units; alice is in group vip (×0.8).
    assert_eq!(
        (alice.balance, alice.group.as_str(), alice.enabled),
        (2_000_000, "vip", true)
    );
    assert!(gw.user("root").await.admin);
    assert!(!gw.user("bob").await.enabled);
    let key = gw.key("alice", "alice-main").await;
    // 100,000 quota used and 400,000 left on the token: spent 200,000, cap 1,000,000 micro-units.
    assert_eq!((key.spent, key.spend_cap), (200_000, Some(1_000_000)));
    // Claude: ratio 1.5 is $3 per million input; CreateCacheRatio 1.25 makes cache writes $3.75.
    let claude = gw.get("/prices/claude-3-5-sonnet-20240620").await;
    assert_eq!(
        (
            &claude.body["input_per_million"],
            &claude.body["cache_write_per_million"]
        ),
        (&serde_json::json!(3_000_000), &serde_json::json!(3_750_000))
    );

    // The old key works; gpt-4o at ratio 1.25 / completion ratio 4 is $2.5 / $10 per million: the mock's
    // 9 + 12 tokens cost 22.5 + 120 = 142.5, × 0.8 for vip = 114 micro-units exactly.
    for _ in 0..4 {
        assert_eq!(chat(gw, ALICE_MAIN, "gpt-4o").await.status(), 200);
    }
    until(|| async { gw.user("alice").await.balance == 2_000_000 - 4 * 114 }).await;
    assert_eq!(gw.user("alice").await.balance, 2_000_000 - 4 * 114);
    assert_eq!(gw.key("alice", "alice-main").await.spent, 200_000 + 4 * 114);
    // The channel's two newline-separated keys both served.
    let used: std::collections::BTreeSet<String> = mock
        .chat_requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["Bearer sk-upstream-a", "Bearer sk-upstream-b"]
    );
    // The mapped model goes upstream under its mapped name.
    assert_eq!(chat(gw, ALICE_MAIN, "gpt-4o-mini").await.status(), 200);
    let last = mock.chat_requests().pop().unwrap();
    assert_eq!(last.body["model"], "gpt-4o-mini-2024-07-18");

    // new-api accepts its keys without `sk-` too, so some clients were set up that way.
    assert_eq!(chat(gw, &ALICE_MAIN[3..], "gpt-4o").await.status(), 200);
    // 4 × 114, gpt-4o-mini's ceil((9 × 0.15 + 12 × 0.6) × 0.8) = 7, and 114 again.
    until(|| async { gw.key("alice", "alice-main").await.spent == 200_000 + 5 * 114 + 7 }).await;
    assert_eq!(
        gw.key("alice", "alice-main").await.spent,
        200_000 + 5 * 114 + 7
    );

    // The unlimited key keeps its model limits (and its IP allowlist admits 127.0.0.1).
    assert_eq!(chat(gw, ALICE_LIMITED, "gpt-4o").await.status(), 200);
    assert_eq!(chat(gw, ALICE_LIMITED, "gpt-4o-mini").await.status(), 403);
    // Expired, disabled and exhausted keys stay refused.
    assert_eq!(chat(gw, ALICE_EXPIRED, "gpt-4o").await.status(), 401);
    assert_eq!(chat(gw, BOB_DISABLED, "gpt-4o").await.status(), 401);
    // (carol is in svip, which only the Claude channel serves.)
    let exhausted = chat(gw, CAROL_EXHAUSTED, "claude-3-5-sonnet-20240620").await;
    crate::harness::expect_error(exhausted, 429, Some("insufficient_quota")).await;

    // An unused code redeems once; a code already used in new-api was not brought over.
    let redeem = |code: &'static str| {
        gw.http
            .post(gw.url("/api/redeem"))
            .bearer_auth(ALICE_MAIN)
            .json(&json!({"code": code}))
            .send()
    };
    let r: Value = redeem("feedface000000000000000000000001")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["amount"], 1_000_000, "{r}");
    assert_eq!(
        redeem("feedface000000000000000000000002")
            .await
            .unwrap()
            .status(),
        400
    );

    // The unfinished Midjourney task is there for its owner.
    let task = get_json(gw, "/mj/task/1700000000000001/fetch", ALICE_MAIN).await;
    assert_eq!(
        (task["status"].clone(), task["progress"].clone()),
        (json!("IN_PROGRESS"), json!("40%")),
        "{task}"
    );

    // Users log in to the dashboard with their new-api passwords (bcrypt).
    Browser::user(gw, "alice", "alicepass123").await;

    // Channels: the disabled, auto-disabled and adapter-less ones arrive disabled; the duplicate name is kept
    // apart; upstream secrets are never shown by the admin API.
    let channels = get_json(gw, "/api/admin/channels", ADMIN).await;
    let text = channels.to_string();
    assert!(!text.contains("sk-upstream-a"), "{text}");
    let list = channels["data"]
        .as_array()
        .or(channels.as_array())
        .unwrap()
        .clone();
    let by_name = |n: &str| {
        list.iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("{n}: {text}"))
            .clone()
    };
    assert_eq!(by_name("deepseek")["enabled"], false);
    assert_eq!(by_name("gemini")["enabled"], false);
    assert_eq!(by_name("azure-east")["enabled"], false);
    assert_eq!(by_name("claude #7")["kind"], "anthropic");
    assert_eq!(by_name("mj-proxy")["kind"], "midjourney");
    // AWS Claude (type 33): a bedrock channel, enabled, its `AK|SK|REGION` key kept (and never shown), new-api's
    // Bedrock model id in its mapping, the endpoint left to the key's region.
    let aws = by_name("aws-claude");
    assert_eq!(
        (&aws["kind"], &aws["enabled"], &aws["base_url"]),
        (&json!("bedrock"), &json!(true), &json!("")),
        "{aws}"
    );
    assert_eq!(
        aws["model_mapping"]["claude-3-haiku-20240307"],
        "anthropic.claude-3-haiku-20240307-v1:0"
    );
    assert!(!text.contains("aws-import-secret-key"), "{text}");
    assert_eq!(by_name("openai-main")["weight"], 15);
}

fn no_poll(s: &mut gateway::config::Settings) {
    s.mj_poll_interval = std::time::Duration::from_secs(3600);
}

#[tokio::test]
async fn new_api_on_sqlite_moves_in_with_every_key_and_balance() {
    let mock = MockUpstream::start().await.unwrap();
    let source = sqlite_source("new-api.schema.sql", "seed.sql", &mock).await;
    let (dir, target) = sqlite_target();
    import_three_times(source.to_str().unwrap(), &target);
    let gw = Gw::start_in(dir, "", &[], no_poll).await;
    customers_notice_nothing(&gw, &mock).await;
    gw.stop().await;
}

#[tokio::test]
async fn new_api_on_postgres_moves_in_to_postgres() {
    let Some(source) = PgSchema::create("the new-api PostgreSQL import test").await else {
        return;
    };
    let Some(target) = PgSchema::create("the new-api PostgreSQL import test").await else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&source.url()).await.unwrap();
    run_sql!(&mut conn, &Dialect::Postgres.schema("new-api.schema.sql"));
    run_sql!(&mut conn, &fixture("seed.sql", &mock));
    conn.close().await.unwrap();
    // With Redis (several instances' set-up), the import runs while a gateway serves and tells it to reload.
    let redis = redis_up("the live part of the PostgreSQL import test").await;
    let url = target.url();
    let start = || {
        Gw::start("", &[], |s| {
            s.database_url = url.clone();
            s.redis_url = redis.then(|| REDIS.to_owned());
            no_poll(s);
        })
    };
    let mut gw = start().await;
    let extra: &[&str] = if redis { &["--redis-url", REDIS] } else { &[] };
    import_three_times_with(&source.url(), &target.url(), extra);
    if redis {
        let hash = gateway::auth::key_format::hash_bytes(ALICE_MAIN);
        until(|| async { gw.state.catalog.snapshot().key_by_hash(&hash).is_some() }).await;
    } else {
        gw.stop().await;
        gw = start().await;
    }
    customers_notice_nothing(&gw, &mock).await;
    gw.stop().await;
    source.drop_schema().await;
    target.drop_schema().await;
}

/// With `TOLLGATE_TEST_MYSQL` (a MySQL/MariaDB server URL whose user may create databases), the same move
/// from new-api's MySQL schema, in a scratch database dropped at the end.
#[tokio::test]
async fn new_api_on_mysql_moves_in() {
    let Some(server) = std::env::var("TOLLGATE_TEST_MYSQL")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        eprintln!("TOLLGATE_TEST_MYSQL is not set: skipping the new-api MySQL import test");
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let db = format!("newapi_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::MySqlConnection::connect(&server).await.unwrap();
    run_sql!(&mut admin, &format!("CREATE DATABASE {db}"));
    let url = format!("{}/{db}", server.trim_end_matches('/'));
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    run_sql!(&mut conn, &Dialect::MySql.schema("new-api.schema.sql"));
    // The seed is portable SQL: double-quoted identifiers, as MySQL reads them in ANSI_QUOTES mode.
    run_sql!(
        &mut conn,
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')"
    );
    run_sql!(&mut conn, &fixture("seed.sql", &mock));
    conn.close().await.unwrap();
    let (dir, target) = sqlite_target();
    import_three_times(&url, &target);
    let gw = Gw::start_in(dir, "", &[], no_poll).await;
    customers_notice_nothing(&gw, &mock).await;
    gw.stop().await;
    let _ = sqlx::raw_sql(&format!("DROP DATABASE {db}"))
        .execute(&mut admin)
        .await;
}

#[tokio::test]
async fn one_api_keys_keep_their_models_and_subnet() {
    let mock = MockUpstream::start().await.unwrap();
    let source = sqlite_source("one-api.schema.sql", "one-api.seed.sql", &mock).await;
    let (dir, target) = sqlite_target();
    let report = stdout(&import(source.to_str().unwrap(), &target, false));
    assert!(report.contains("from one-api"), "{report}");
    let gw = Gw::start_in(dir, "", &[], no_poll).await;
    let key = gw.key("alice", "alice-main").await;
    assert_eq!(
        key.models,
        Some(vec![
            "gpt-4o".to_owned(),
            "claude-3-5-sonnet-20240620".to_owned()
        ])
    );
    assert_eq!(key.ip_allowlist, ["127.0.0.0/8"]);
    assert_eq!((key.spent, key.spend_cap), (200_000, Some(1_000_000)));
    let key = "sk-oneapialiceGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";
    assert_eq!(chat(&gw, key, "gpt-4o").await.status(), 200);
    assert_eq!(gw.user("root").await.balance, 1_000_000_000_000_000);
    gw.stop().await;
}

#[tokio::test]
async fn bad_source_rows_are_named_and_nothing_is_written() {
    let mock = MockUpstream::start().await.unwrap();
    let source = sqlite_source("new-api.schema.sql", "seed.sql", &mock).await;
    let url = format!("sqlite://{}", source.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE channels SET model_mapping = '{not json' WHERE id = 5")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (dir, target) = sqlite_target();
    let out = import(source.to_str().unwrap(), &target, false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("channels row id=5") && err.contains("model_mapping"),
        "{err}"
    );
    // The target holds no user at all: nothing was half-written.
    let gw = Gw::start_in(dir, "", &[], no_poll).await;
    let (users, total) = gw.state.store.list_users(10, 0).await.unwrap();
    assert_eq!((users.len(), total), (0, 0));
    gw.stop().await;
}
