-- Budget slices (decision 0013): the share of an account's money one instance may spend without asking the
-- database again. A slice is a claim, not a debit: `users.balance` and `api_keys.spent` move only when a charge is
-- committed, which lowers the slice by the same amount in the same transaction. What an account can still hand
-- out is its balance (or cap headroom) minus every live slice. `account` is 'user' or 'key'; `expires_at` is unix
-- milliseconds, extended by the holder about once a second; a slice past it belongs to nobody.
CREATE TABLE budget_slices (
    holder     TEXT NOT NULL,
    account    TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account, account_id, holder)
);
CREATE INDEX budget_slices_holder ON budget_slices (holder);
