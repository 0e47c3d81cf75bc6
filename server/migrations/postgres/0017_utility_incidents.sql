-- How each utility answered, per minute: every replica adds its own calls.
-- `failures` counts only availability failures (no answer, timeouts, 5xx).
CREATE TABLE utility_call_tallies (
    utility_id  TEXT NOT NULL,
    minute      BIGINT NOT NULL,
    calls       BIGINT NOT NULL,
    failures    BIGINT NOT NULL,
    PRIMARY KEY (utility_id, minute)
);

-- A utility that stopped answering for many calls at once. At most one open
-- incident per utility; syncs to it wait while it is open, except one probe.
CREATE TABLE utility_incidents (
    id                TEXT PRIMARY KEY NOT NULL,
    utility_id        TEXT NOT NULL,
    opened_at         BIGINT NOT NULL,
    -- The first minute of the window that opened it: "not answering since".
    failing_since     BIGINT NOT NULL,
    calls             BIGINT NOT NULL,
    failures          BIGINT NOT NULL,
    last_probe_at     BIGINT,
    probes_succeeded  BIGINT NOT NULL DEFAULT 0,
    resolved_at       BIGINT
);
CREATE UNIQUE INDEX utility_incidents_open ON utility_incidents (utility_id) WHERE resolved_at IS NULL;
CREATE INDEX utility_incidents_by_opening ON utility_incidents (opened_at);
