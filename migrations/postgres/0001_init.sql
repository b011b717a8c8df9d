-- Tollgate initial schema (PostgreSQL). Same tables, columns and intent as migrations/sqlite/0001_init.sql:
-- times are BIGINT unix milliseconds, booleans SMALLINT 0/1, lists and maps JSON TEXT, money BIGINT
-- micro-units, ids BIGSERIAL. Names that listings sort by are COLLATE "C" so they sort byte-wise, as SQLite
-- does. Keep this file in step with migrations/sqlite/.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE user_groups (
    name       TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    multiplier BIGINT NOT NULL
);

INSERT INTO user_groups (name, multiplier) VALUES ('default', 1000);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    group_name    TEXT NOT NULL,
    balance       BIGINT NOT NULL DEFAULT 0,
    spent         BIGINT NOT NULL DEFAULT 0,
    enabled       SMALLINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE INDEX users_group_name ON users (group_name);

CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    enabled      SMALLINT NOT NULL DEFAULT 1,
    models       TEXT,
    spend_cap    BIGINT,
    spent        BIGINT NOT NULL DEFAULT 0,
    reserved     BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT,
    ip_allowlist TEXT NOT NULL DEFAULT '[]',
    rpm_limit    BIGINT,
    created_at   BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE channels (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    models        TEXT NOT NULL DEFAULT '[]',
    model_mapping TEXT NOT NULL DEFAULT '{}',
    group_names   TEXT NOT NULL DEFAULT '[]',
    priority      BIGINT NOT NULL DEFAULT 0,
    weight        BIGINT NOT NULL DEFAULT 1,
    enabled       SMALLINT NOT NULL DEFAULT 1,
    api_version   TEXT,
    modes         TEXT,
    headers       TEXT NOT NULL DEFAULT '{}',
    health        TEXT NOT NULL DEFAULT 'healthy',
    last_error    TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE channel_keys (
    id              BIGSERIAL PRIMARY KEY,
    channel_id      BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    secret          TEXT NOT NULL,
    healthy         SMALLINT NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    UNIQUE (channel_id, position)
);

CREATE TABLE prices (
    model                    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    input_per_million        BIGINT,
    cached_input_per_million BIGINT,
    output_per_million       BIGINT,
    per_request              BIGINT
);

-- Money held for in-flight requests. No foreign keys on purpose: a row must outlive a deleted
-- user or key so that settle/refund can still clean it up.
CREATE TABLE reservations (
    request_id TEXT PRIMARY KEY NOT NULL,
    user_id    BIGINT NOT NULL,
    key_id     BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX reservations_created_at ON reservations (created_at);

-- Request log. No foreign keys: history survives deleted users, keys and channels.
CREATE TABLE logs (
    id                BIGSERIAL PRIMARY KEY,
    request_id        TEXT NOT NULL,
    time              BIGINT NOT NULL,
    user_id           BIGINT,
    key_id            BIGINT,
    key_name          TEXT,
    channel_id        BIGINT,
    model             TEXT COLLATE "C",
    upstream_model    TEXT,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    cached_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    cost              BIGINT NOT NULL DEFAULT 0,
    status            BIGINT NOT NULL,
    stream            SMALLINT NOT NULL DEFAULT 0,
    retries           BIGINT NOT NULL DEFAULT 0,
    latency_ms        BIGINT NOT NULL DEFAULT 0,
    ttft_ms           BIGINT,
    client_ip         TEXT,
    error             TEXT
);

CREATE INDEX logs_time ON logs (time);
CREATE INDEX logs_key_time ON logs (key_id, time);
CREATE INDEX logs_user_time ON logs (user_id, time);
CREATE INDEX logs_model_time ON logs (model, time);
CREATE INDEX logs_request_id ON logs (request_id);
