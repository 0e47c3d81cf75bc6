-- Signing in with a passkey instead of a password, where the organisation
-- allows it: the ceremony starts before anyone is identified, so its server
-- half waits here (five minutes, used once) without an operator.
ALTER TABLE organisations ADD COLUMN allow_passkey_sign_in BIGINT NOT NULL DEFAULT 0;
CREATE TABLE passkey_sign_ins (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
