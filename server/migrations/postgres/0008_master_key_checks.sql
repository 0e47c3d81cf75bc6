-- A value sealed under each master key when it is first used; opened at every
-- start, so a server given a different key refuses to start.
CREATE TABLE master_key_checks (
    key_id        TEXT PRIMARY KEY NOT NULL,
    sealed_check  TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The health check's write probe: one row, updated on every check.
CREATE TABLE health_probe (
    id          INTEGER PRIMARY KEY NOT NULL,
    checked_at  BIGINT NOT NULL
);
INSERT INTO health_probe (id, checked_at) VALUES (1, 0);
