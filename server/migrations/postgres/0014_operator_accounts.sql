-- Operators' own accounts: where each session was started from, and the
-- sign-in history (time, client address, outcome) shown on the account page.
ALTER TABLE operator_sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE TABLE sign_in_history (
    operator_id   TEXT NOT NULL REFERENCES operators (id),
    signed_in_at  BIGINT NOT NULL,
    client        TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('SUCCEEDED', 'FAILED'))
);
CREATE INDEX sign_in_history_by_operator ON sign_in_history (operator_id, signed_in_at);
