-- Tollgate initial schema (SQLite). Times are INTEGER unix milliseconds, booleans INTEGER 0/1,
-- lists and maps JSON TEXT. Money is INTEGER micro-units. Keep this file in step with migrations/postgres/.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE user_groups (
    name       TEXT PRIMARY KEY NOT NULL,
    multiplier INTEGER NOT NULL
);

INSERT INTO user_groups (name, multiplier) VALUES ('default', 1000);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    group_name    TEXT NOT NULL,
    balance       INTEGER NOT NULL DEFAULT 0,
    spent         INTEGER NOT NULL DEFAULT 0,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE INDEX users_group_name ON users (group_name);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    models       TEXT,
    spend_cap    INTEGER,
    spent        INTEGER NOT NULL DEFAULT 0,
    reserved     INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER,
    ip_allowlist TEXT NOT NULL DEFAULT '[]',
    rpm_limit    INTEGER,
    created_at   INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    models        TEXT NOT NULL DEFAULT '[]',
    model_mapping TEXT NOT NULL DEFAULT '{}',
    group_names   TEXT NOT NULL DEFAULT '[]',
    priority      INTEGER NOT NULL DEFAULT 0,
    weight        INTEGER NOT NULL DEFAULT 1,
    enabled       INTEGER NOT NULL DEFAULT 1,
    api_version   TEXT,
    modes         TEXT,
    headers       TEXT NOT NULL DEFAULT '{}',
    health        TEXT NOT NULL DEFAULT 'healthy',
    last_error    TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE channel_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id      INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    secret          TEXT NOT NULL,
    healthy         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    UNIQUE (channel_id, position)
);

CREATE TABLE prices (
    model                    TEXT PRIMARY KEY NOT NULL,
    input_per_million        INTEGER,
    cached_input_per_million INTEGER,
    output_per_million       INTEGER,
    per_request              INTEGER
);

-- Money held for in-flight requests. No foreign keys on purpose: a row must outlive a deleted
-- user or key so that settle/refund can still clean it up.
CREATE TABLE reservations (
    request_id TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL,
    key_id     INTEGER NOT NULL,
    amount     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX reservations_created_at ON reservations (created_at);

-- Request log. No foreign keys: history survives deleted users, keys and channels.
CREATE TABLE logs (
    id                INTEGER PRIMARY KEY,
    request_id        TEXT NOT NULL,
    time              INTEGER NOT NULL,
    user_id           INTEGER,
    key_id            INTEGER,
    key_name          TEXT,
    channel_id        INTEGER,
    model             TEXT,
    upstream_model    TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    status            INTEGER NOT NULL,
    stream            INTEGER NOT NULL DEFAULT 0,
    retries           INTEGER NOT NULL DEFAULT 0,
    latency_ms        INTEGER NOT NULL DEFAULT 0,
    ttft_ms           INTEGER,
    client_ip         TEXT,
    error             TEXT
);

CREATE INDEX logs_time ON logs (time);
CREATE INDEX logs_key_time ON logs (key_id, time);
CREATE INDEX logs_user_time ON logs (user_id, time);
CREATE INDEX logs_model_time ON logs (model, time);
CREATE INDEX logs_request_id ON logs (request_id);
