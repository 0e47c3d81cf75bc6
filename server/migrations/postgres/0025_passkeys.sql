-- Passkeys (WebAuthn) as an operator's second factor. A passkey is its
-- credential id (base64url, unique across operators) and webauthn-rs's
-- record of it (public key, signature counter) as JSON; nothing in it is
-- secret. A ceremony's server half (its challenge) waits five minutes in
-- webauthn_ceremonies for the browser's answer, so any replica can finish it,
-- and is used once.
CREATE TABLE operator_passkeys (
    id            TEXT PRIMARY KEY NOT NULL,
    operator_id   TEXT NOT NULL REFERENCES operators (id),
    name          TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    passkey       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX operator_passkeys_by_operator ON operator_passkeys (operator_id);
CREATE TABLE webauthn_ceremonies (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    purpose     TEXT NOT NULL,
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
