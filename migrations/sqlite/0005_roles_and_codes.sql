-- Dashboard logins: a user may be an admin ('admin') or not ('user').
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';

-- Redemption codes: money a user adds to their balance by typing a code, once only.
-- Kept in clear text (like new-api) because operators export unused codes to hand them out.
CREATE TABLE redemption_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    amount      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    redeemed_by INTEGER,
    redeemed_at INTEGER
);

CREATE INDEX redemption_codes_redeemed_by ON redemption_codes (redeemed_by);
