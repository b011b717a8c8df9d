-- Refusals before any key is known (missing or invalid key, unknown route) are logged as one row per client
-- address, status and minute: `count` is how many requests that row stands for (1 for every other row).
ALTER TABLE logs ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
