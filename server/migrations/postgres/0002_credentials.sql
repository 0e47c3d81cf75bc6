-- Operators sign in to the dashboard; their sessions live in operator_sessions.
CREATE TABLE operators (
    id               TEXT PRIMARY KEY NOT NULL,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    email            TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('ADMIN', 'MEMBER')),
    created_at       BIGINT NOT NULL,
    removed_at       BIGINT
);

CREATE TABLE operator_sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    operator_id   TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY NOT NULL,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    name             TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    token_prefix     TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT,
    revoked_at       BIGINT
);
CREATE INDEX api_keys_organisation ON api_keys (organisation_id);

-- A utility login. Secrets are sealed (see crypto.rs); the token's expiry is
-- kept in the clear for the sweeps. The current MFA attempt lives here too.
CREATE TABLE credentials (
    id                        TEXT PRIMARY KEY NOT NULL,
    organisation_id           TEXT NOT NULL REFERENCES organisations (id),
    utility_id                TEXT NOT NULL,
    username                  TEXT NOT NULL,
    correlation_id            TEXT,
    owner                     TEXT NOT NULL CHECK (owner IN ('ORGANISATION', 'END_USER')),
    status_detail             TEXT NOT NULL,
    sealed_password           TEXT NOT NULL,
    sealed_session_token      TEXT,
    token_expires_at          BIGINT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    deactivated_at            BIGINT,
    last_synced_at            BIGINT,
    -- A login to run in the background, claimed with a lease.
    login_requested_at        BIGINT,
    login_lease_until         BIGINT,
    login_attempts            BIGINT NOT NULL DEFAULT 0,
    -- The MFA attempt in progress.
    mfa_challenge_id          TEXT,
    mfa_options               TEXT,
    mfa_method                TEXT,
    mfa_destination           TEXT,
    mfa_code_expires_at       BIGINT,
    mfa_sends                 BIGINT NOT NULL DEFAULT 0,
    mfa_wrong_codes           BIGINT NOT NULL DEFAULT 0,
    mfa_last_activity_at      BIGINT,
    failure_message           TEXT
);
-- The dashboard's lists: active credentials by status detail or overall,
-- newest first; `id` breaks ties so the index also gives the page order.
CREATE INDEX credentials_by_detail ON credentials (organisation_id, status_detail, created_at, id)
    WHERE deactivated_at IS NULL;
CREATE INDEX credentials_by_created ON credentials (organisation_id, created_at, id)
    WHERE deactivated_at IS NULL;
CREATE INDEX credentials_by_correlation ON credentials (organisation_id, correlation_id);
-- The expiry sweep and the login queue look only at the few rows concerned.
CREATE INDEX credentials_token_expiry ON credentials (token_expires_at)
    WHERE status_detail = 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL' AND deactivated_at IS NULL;
CREATE INDEX credentials_login_queue ON credentials (login_requested_at)
    WHERE login_requested_at IS NOT NULL;

-- The timeline of a credential: every status change and every notable act.
CREATE TABLE credential_events (
    id               BIGSERIAL PRIMARY KEY,
    credential_id    TEXT NOT NULL REFERENCES credentials (id),
    organisation_id  TEXT NOT NULL,
    kind             TEXT NOT NULL,
    from_detail      TEXT,
    to_detail        TEXT,
    actor            TEXT NOT NULL,
    message          TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX credential_events_by_credential ON credential_events (credential_id, id);
CREATE INDEX credential_events_by_organisation ON credential_events (organisation_id, id);

-- A Connect token: starts Connect for a new credential, or in update mode for
-- one credential (Retry MFA Verification, or an update link).
CREATE TABLE connect_sessions (
    id               TEXT PRIMARY KEY NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    purpose          TEXT NOT NULL CHECK (purpose IN ('NEW_CREDENTIAL', 'RETRY_MFA', 'UPDATE_LINK')),
    credential_id    TEXT REFERENCES credentials (id),
    utility_id       TEXT,
    correlation_id   TEXT,
    owner            TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    attempt_started_at BIGINT,
    completed_at     BIGINT,
    revoked_at       BIGINT
);
CREATE INDEX connect_sessions_by_credential ON connect_sessions (credential_id, purpose);
