-- Listing a million credentials quickly (see docs/benchmarks.md).

-- Exact counts of active credentials per organisation and status detail,
-- kept by triggers inside the very statement that changes a credential, so a
-- listing's total is a few rows read instead of a million counted. SQLite has
-- one writer at a time, so one row per (organisation, detail) updated in
-- place cannot race.
CREATE TABLE credential_counts (
    organisation_id TEXT NOT NULL,
    status_detail   TEXT NOT NULL,
    active          BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, status_detail)
);
INSERT INTO credential_counts (organisation_id, status_detail, active)
SELECT organisation_id, status_detail, COUNT(*) FROM credentials
 WHERE deactivated_at IS NULL
 GROUP BY organisation_id, status_detail;

CREATE TRIGGER credential_counts_on_insert AFTER INSERT ON credentials
WHEN NEW.deactivated_at IS NULL
BEGIN
    INSERT INTO credential_counts (organisation_id, status_detail, active)
    VALUES (NEW.organisation_id, NEW.status_detail, 1)
    ON CONFLICT (organisation_id, status_detail) DO UPDATE SET active = active + 1;
END;

CREATE TRIGGER credential_counts_on_delete AFTER DELETE ON credentials
WHEN OLD.deactivated_at IS NULL
BEGIN
    UPDATE credential_counts SET active = active - 1
     WHERE organisation_id = OLD.organisation_id AND status_detail = OLD.status_detail;
END;

-- An update leaves the old (organisation, detail) when it was counted there
-- and is no longer, and enters the new one likewise.
CREATE TRIGGER credential_counts_on_leave AFTER UPDATE OF organisation_id, status_detail, deactivated_at ON credentials
WHEN OLD.deactivated_at IS NULL
 AND (NEW.deactivated_at IS NOT NULL OR NEW.status_detail IS NOT OLD.status_detail
      OR NEW.organisation_id IS NOT OLD.organisation_id)
BEGIN
    UPDATE credential_counts SET active = active - 1
     WHERE organisation_id = OLD.organisation_id AND status_detail = OLD.status_detail;
END;

CREATE TRIGGER credential_counts_on_enter AFTER UPDATE OF organisation_id, status_detail, deactivated_at ON credentials
WHEN NEW.deactivated_at IS NULL
 AND (OLD.deactivated_at IS NOT NULL OR NEW.status_detail IS NOT OLD.status_detail
      OR NEW.organisation_id IS NOT OLD.organisation_id)
BEGIN
    INSERT INTO credential_counts (organisation_id, status_detail, active)
    VALUES (NEW.organisation_id, NEW.status_detail, 1)
    ON CONFLICT (organisation_id, status_detail) DO UPDATE SET active = active + 1;
END;

-- Sorting by token expiry walks this index instead of sorting every row.
CREATE INDEX credentials_by_token_expiry ON credentials (organisation_id, token_expires_at, id)
    WHERE deactivated_at IS NULL;

-- Username search: every three-letter run of each username, so a search for
-- a part of a name looks up the few credentials that contain it. Usernames
-- never change and credentials are never deleted, but the triggers keep the
-- index right if either ever happens. The listing still applies its exact
-- LIKE on top: this index only narrows the rows it looks at.
CREATE VIRTUAL TABLE credential_usernames USING fts5 (
    username, credential_id UNINDEXED, tokenize = 'trigram'
);
INSERT INTO credential_usernames (username, credential_id) SELECT username, id FROM credentials;

CREATE TRIGGER credential_usernames_on_insert AFTER INSERT ON credentials
BEGIN
    INSERT INTO credential_usernames (username, credential_id) VALUES (NEW.username, NEW.id);
END;

CREATE TRIGGER credential_usernames_on_delete AFTER DELETE ON credentials
BEGIN
    DELETE FROM credential_usernames WHERE credential_id = OLD.id;
END;

CREATE TRIGGER credential_usernames_on_rename AFTER UPDATE OF username, id ON credentials
BEGIN
    DELETE FROM credential_usernames WHERE credential_id = OLD.id;
    INSERT INTO credential_usernames (username, credential_id) VALUES (NEW.username, NEW.id);
END;
