-- Tokens-per-minute limits on keys; default requests/tokens-per-minute limits for every key of a group.
ALTER TABLE api_keys ADD COLUMN tpm_limit BIGINT;
ALTER TABLE user_groups ADD COLUMN rpm_limit BIGINT;
ALTER TABLE user_groups ADD COLUMN tpm_limit BIGINT;
