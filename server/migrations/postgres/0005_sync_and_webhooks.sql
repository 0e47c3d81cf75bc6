-- Keeping data flowing: the sync schedule, stored utility data, expiry
-- warnings, and signed webhooks with their deliveries.

-- The sync queue: a connected credential is synced when next_sync_at passes,
-- claimed with a lease (sync_lease_until) so replicas never sync it twice at once.
ALTER TABLE credentials ADD COLUMN next_sync_at BIGINT;
ALTER TABLE credentials ADD COLUMN sync_lease_until BIGINT;
-- Utility unavailable in a row; reset by a successful sync.
ALTER TABLE credentials ADD COLUMN sync_failures BIGINT NOT NULL DEFAULT 0;
-- The SESSION_TOKEN_EXPIRING warning went out for the current token.
ALTER TABLE credentials ADD COLUMN expiry_warned_at BIGINT;
-- Set when a credential that had connected fell into a failure; cleared (with
-- a CREDENTIAL_REPAIRED event) when it connects again.
ALTER TABLE credentials ADD COLUMN first_connected_at BIGINT;
ALTER TABLE credentials ADD COLUMN repair_needed_since BIGINT;

UPDATE credentials SET first_connected_at = created_at
 WHERE sealed_session_token IS NOT NULL
    OR status_detail = 'MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED';
UPDATE credentials SET repair_needed_since = updated_at
 WHERE status_detail = 'MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED';
UPDATE credentials SET next_sync_at = updated_at
 WHERE status_detail = 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL' AND deactivated_at IS NULL;

CREATE INDEX credentials_sync_queue ON credentials (next_sync_at)
    WHERE next_sync_at IS NOT NULL;
CREATE INDEX credentials_expiry_warning ON credentials (token_expires_at)
    WHERE expiry_warned_at IS NULL AND status_detail = 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL';

-- What the syncs read from the utility. Keys are the utility's, so a repeated
-- sync recognises what it already stored.
CREATE TABLE utility_accounts (
    credential_id    TEXT NOT NULL REFERENCES credentials (id),
    account_number   TEXT NOT NULL,
    service_address  TEXT NOT NULL,
    fuel             TEXT NOT NULL,
    first_synced_at  BIGINT NOT NULL,
    PRIMARY KEY (credential_id, account_number)
);

CREATE TABLE utility_statements (
    credential_id    TEXT NOT NULL REFERENCES credentials (id),
    statement_id     TEXT NOT NULL,
    account_number   TEXT NOT NULL,
    period_start     TEXT NOT NULL,
    period_end       TEXT NOT NULL,
    usage            DOUBLE PRECISION NOT NULL,
    usage_unit       TEXT NOT NULL,
    amount_cents     BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    first_synced_at  BIGINT NOT NULL,
    PRIMARY KEY (credential_id, statement_id)
);
CREATE INDEX utility_statements_by_period ON utility_statements (credential_id, period_start);

-- One webhook endpoint per organisation. The signing secret is sealed; after a
-- rotation the previous one keeps signing too until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
    organisation_id             TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id),
    url                         TEXT NOT NULL,
    sealed_secret               TEXT NOT NULL,
    sealed_previous_secret      TEXT,
    previous_secret_expires_at  BIGINT,
    secret_created_at           BIGINT NOT NULL,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL
);

-- One message to an organisation's endpoint; its body is fixed when created,
-- so every attempt sends the same bytes under the same id.
CREATE TABLE webhook_deliveries (
    id                    TEXT PRIMARY KEY NOT NULL,
    organisation_id       TEXT NOT NULL REFERENCES organisations (id),
    credential_id         TEXT,
    event_type            TEXT NOT NULL,
    payload               TEXT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts              BIGINT NOT NULL DEFAULT 0,
    next_attempt_at       BIGINT,
    lease_until           BIGINT,
    give_up_at            BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    delivered_at          BIGINT,
    last_response_status  BIGINT,
    last_error            TEXT
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (next_attempt_at)
    WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_by_organisation ON webhook_deliveries (organisation_id, created_at, id);

CREATE TABLE webhook_attempts (
    id               BIGSERIAL PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at     BIGINT NOT NULL,
    url              TEXT NOT NULL,
    response_status  BIGINT,
    error            TEXT,
    duration_ms      BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
