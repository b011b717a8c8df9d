-- Dashboard logins: a user may be an admin ('admin') or not ('user').
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';

-- Redemption codes: money a user adds to their balance by typing a code, once only.
-- Kept in clear text (like new-api) because operators export unused codes to hand them out.
CREATE TABLE redemption_codes (
    id          BIGSERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    amount      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    redeemed_by BIGINT,
    redeemed_at BIGINT
);

CREATE INDEX redemption_codes_redeemed_by ON redemption_codes (redeemed_by);
