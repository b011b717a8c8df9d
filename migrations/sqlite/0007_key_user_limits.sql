-- Self-service keys (issue 15): what the key's owner set on it, beside what an operator set. The existing columns
-- (`enabled`, `models`, `spend_cap`, `expires_at`, `ip_allowlist`, `rpm_limit`, `tpm_limit`) stay the operator's
-- — the admin API reads and writes them as before, and the values existing keys carry (set by an admin, or by the
-- old shared dashboard path) become operator ceilings. The owner's columns start empty: what is enforced is the
-- tighter of the two, so an owner can tighten a key but never loosen it past the operator.
ALTER TABLE api_keys ADD COLUMN user_disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN user_models TEXT;
ALTER TABLE api_keys ADD COLUMN user_spend_cap INTEGER;
ALTER TABLE api_keys ADD COLUMN user_expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN user_ip_allowlist TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN user_rpm_limit INTEGER;
ALTER TABLE api_keys ADD COLUMN user_tpm_limit INTEGER;
