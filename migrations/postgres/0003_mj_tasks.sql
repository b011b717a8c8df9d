-- Midjourney tasks relayed for users, and named leases for singleton background jobs (PostgreSQL; same
-- intent as migrations/sqlite/0003_mj_tasks.sql).

-- One row per MJ task. `upstream_id` is the upstream's task id (the id the client sees); it is unique per
-- channel only. No foreign keys: history survives deleted users, keys and channels (as for `logs`).
-- `submit_time` / `start_time` / `finish_time` are epoch milliseconds as the MJ API reports them;
-- `buttons` (JSON array) and `properties` (JSON object) are TEXT.
CREATE TABLE mj_tasks (
    id          BIGSERIAL PRIMARY KEY,
    upstream_id TEXT NOT NULL,
    user_id     BIGINT NOT NULL,
    key_id      BIGINT NOT NULL,
    channel_id  BIGINT NOT NULL,
    action      TEXT NOT NULL,
    mode        TEXT,
    prompt      TEXT,
    prompt_en   TEXT,
    description TEXT,
    state       TEXT,
    status      TEXT NOT NULL,
    progress    TEXT NOT NULL DEFAULT '',
    image_url   TEXT,
    fail_reason TEXT,
    buttons     TEXT NOT NULL DEFAULT '[]',
    properties  TEXT NOT NULL DEFAULT '{}',
    notify_hook TEXT,
    submit_time BIGINT,
    start_time  BIGINT,
    finish_time BIGINT,
    cost        BIGINT NOT NULL DEFAULT 0,
    refunded    SMALLINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE UNIQUE INDEX mj_tasks_channel_upstream ON mj_tasks (channel_id, upstream_id);
CREATE INDEX mj_tasks_user_upstream ON mj_tasks (user_id, upstream_id);
CREATE INDEX mj_tasks_status ON mj_tasks (status);

-- A lease names a job that only one instance may run at a time; `expires_at` is unix milliseconds.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
