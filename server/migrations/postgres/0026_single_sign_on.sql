-- Single sign-on with OpenID Connect: one identity provider per
-- organisation (its client secret sealed with the master key), and the
-- sign-ins on their way through it (ten minutes; the state's hash, the PKCE
-- verifier and the nonce; used once).
CREATE TABLE sso_providers (
    id                   TEXT PRIMARY KEY NOT NULL,
    organisation_id      TEXT NOT NULL UNIQUE REFERENCES organisations (id),
    display_name         TEXT NOT NULL,
    issuer_url           TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    sealed_client_secret TEXT NOT NULL,
    allowed_domains      TEXT NOT NULL,
    first_sign_in        TEXT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE TABLE sso_sign_ins (
    state_hash    TEXT PRIMARY KEY NOT NULL,
    provider_id   TEXT NOT NULL REFERENCES sso_providers (id),
    pkce_verifier TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);
