-- Prompt-cache writes (issue 18): their own prices (NULL = the input price; the 1-hour price NULL = the 5-minute
-- write price) and their own count on each log row (part of prompt_tokens, like cached_tokens).
ALTER TABLE prices ADD COLUMN cache_write_per_million BIGINT;
ALTER TABLE prices ADD COLUMN cache_write_1h_per_million BIGINT;
ALTER TABLE logs ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0;
