-- Connection attempts an end-user started for a credential (reconnects and
-- corrected passwords), for the per-credential ceiling: 5 an hour, 20 a day.
CREATE TABLE credential_login_attempts (
    credential_id  TEXT NOT NULL REFERENCES credentials (id),
    attempted_at   BIGINT NOT NULL
);
CREATE INDEX credential_login_attempts_by_credential ON credential_login_attempts (credential_id, attempted_at);
