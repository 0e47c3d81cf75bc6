-- The audit trail: who did what to what, when and from where. Rows are only
-- ever added, and removed by retention (GRIDLINK_AUDIT_RETENTION); the
-- trigger refuses any change to one. organisation_id is NULL for what
-- concerns the whole deployment (the CLI's rotate-key).
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT,
    occurred_at     BIGINT NOT NULL,
    action          TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_id        TEXT,
    actor_name      TEXT NOT NULL,
    client          TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    target_kind     TEXT,
    target_id       TEXT,
    details         TEXT NOT NULL
);
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, occurred_at, id);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at);
CREATE TRIGGER audit_events_are_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- Scoped API keys: READ keys may only read.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'WRITE' CHECK (scope IN ('READ', 'WRITE'));
