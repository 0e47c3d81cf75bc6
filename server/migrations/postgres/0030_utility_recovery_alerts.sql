-- "Email me when it works again": an end-user who met a utility having
-- trouble in Connect left an address. When the incident resolves, Gridlink
-- mails a fresh Connect link there, once (`mailed_at`), in `language`.
-- One alert per Connect visit and incident (a second address replaces it).
CREATE TABLE utility_recovery_alerts (
    id               TEXT PRIMARY KEY NOT NULL,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    incident_id      TEXT NOT NULL REFERENCES utility_incidents (id),
    utility_id       TEXT NOT NULL,
    session_id       TEXT NOT NULL REFERENCES connect_sessions (id),
    email            TEXT NOT NULL,
    language         TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    mailed_at        BIGINT
);
CREATE UNIQUE INDEX utility_recovery_alerts_per_visit ON utility_recovery_alerts (incident_id, session_id);
