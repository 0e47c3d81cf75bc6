-- Reaching end-users by mail.

-- Outgoing mail, queued in the same transaction as what it tells about and
-- sent by the mail job (leases and retries as for webhooks). The message
-- (subject, text, HTML) is sealed with the master key: it may carry an update
-- link, and only the hash of a link token is stored in the clear.
CREATE TABLE mail_outbox (
    id               TEXT PRIMARY KEY NOT NULL,
    organisation_id  TEXT REFERENCES organisations (id),
    credential_id    TEXT REFERENCES credentials (id),
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    sealed_message   TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('PENDING', 'SENT', 'FAILED')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    give_up_at       BIGINT NOT NULL,
    lease_until      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX mail_outbox_by_credential ON mail_outbox (credential_id, created_at);

-- The end-user's contact, and who gave it (an integrator's may go in webhooks).
ALTER TABLE credentials ADD COLUMN contact_email TEXT;
ALTER TABLE credentials ADD COLUMN contact_email_source TEXT;
ALTER TABLE credentials ADD COLUMN contact_language TEXT;
ALTER TABLE connect_sessions ADD COLUMN contact_email TEXT;
ALTER TABLE connect_sessions ADD COLUMN contact_language TEXT;
-- When an end-user first opened the session's page (the refresh funnel).
ALTER TABLE connect_sessions ADD COLUMN first_opened_at BIGINT;

-- OFF, WHEN_REFRESH_REQUIRED, or BEFORE_TOKEN_EXPIRY (which includes the former).
ALTER TABLE organisations ADD COLUMN notify_end_users TEXT NOT NULL DEFAULT 'OFF';

-- One notice sequence per credential and episode (the moment it began to need
-- the end-user): the first mail, then reminders at 24 and 48 hours while it
-- still needs them. The link is sealed, so reminders can repeat it.
CREATE TABLE end_user_notices (
    id               TEXT PRIMARY KEY NOT NULL,
    credential_id    TEXT NOT NULL REFERENCES credentials (id),
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    episode          BIGINT NOT NULL,
    reason           TEXT NOT NULL,
    contact_email    TEXT NOT NULL,
    language         TEXT NOT NULL,
    link_session_id  TEXT NOT NULL REFERENCES connect_sessions (id),
    sealed_link      TEXT NOT NULL,
    link_expires_at  BIGINT NOT NULL,
    mails_sent       BIGINT NOT NULL,
    next_reminder_at BIGINT,
    stopped_at       BIGINT,
    stop_reason      TEXT,
    started_at       BIGINT NOT NULL,
    UNIQUE (credential_id, episode)
);
CREATE INDEX end_user_notices_due ON end_user_notices (next_reminder_at) WHERE stopped_at IS NULL;
CREATE INDEX end_user_notices_by_start ON end_user_notices (organisation_id, started_at);

-- Contacts who asked for no more notices, and the tokens of unsubscribe links
-- (only their hash is kept).
CREATE TABLE mail_unsubscribes (
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    email            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, email)
);
CREATE TABLE unsubscribe_tokens (
    token_hash       TEXT PRIMARY KEY NOT NULL,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    email            TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

-- The notice job looks only at credentials with a contact.
CREATE INDEX credentials_with_contact ON credentials (status_detail)
    WHERE contact_email IS NOT NULL AND deactivated_at IS NULL;

-- One-time links mailed to operators: an invitation to set their password
-- (48 hours) and "Forgot password?" (1 hour). Only the hash is stored.
CREATE TABLE operator_links (
    token_hash   TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    purpose      TEXT NOT NULL CHECK (purpose IN ('INVITATION', 'PASSWORD_RESET')),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX operator_links_by_operator ON operator_links (operator_id, created_at);
-- Set while an invited operator has not chosen a password yet.
ALTER TABLE operators ADD COLUMN invited_at BIGINT;

-- Learned token lifetimes. When the session token was issued, and whether
-- its expiry is predicted (the utility did not state one) rather than stated.
ALTER TABLE credentials ADD COLUMN token_issued_at BIGINT;
ALTER TABLE credentials ADD COLUMN token_expiry_predicted BIGINT NOT NULL DEFAULT 0;
-- Each token's observed life: issued, then refused by the utility
-- (REJECTED) or past its stated expiry (EXPIRED).
CREATE TABLE token_lifetimes (
    utility_id   TEXT NOT NULL,
    issued_at    BIGINT NOT NULL,
    ended_at     BIGINT NOT NULL,
    ended_by     TEXT NOT NULL CHECK (ended_by IN ('REJECTED', 'EXPIRED'))
);
CREATE INDEX token_lifetimes_by_utility ON token_lifetimes (utility_id, ended_at);
