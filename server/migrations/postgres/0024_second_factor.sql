-- Two-factor sign-in with an authenticator app (TOTP, RFC 6238). The secret
-- is sealed with the master key; last_used_step refuses a code's replay
-- within its window. Recovery codes are stored hashed and work once. A
-- sign-in whose password was right waits in pending_sign_ins (five minutes)
-- for its second step. An organisation may require a second factor of every
-- operator.
CREATE TABLE operator_totp (
    operator_id    TEXT PRIMARY KEY NOT NULL REFERENCES operators (id),
    sealed_secret  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    confirmed_at   BIGINT,
    last_used_step BIGINT
);
CREATE TABLE operator_recovery_codes (
    operator_id TEXT NOT NULL REFERENCES operators (id),
    code_hash   TEXT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (operator_id, code_hash)
);
CREATE TABLE pending_sign_ins (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    client      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
ALTER TABLE organisations ADD COLUMN require_second_factor BIGINT NOT NULL DEFAULT 0;
