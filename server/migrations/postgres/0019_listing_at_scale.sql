-- Listing a million credentials quickly (see docs/benchmarks.md).

-- Exact counts of active credentials per organisation and status detail, so a
-- listing's total is a few rows read instead of a million counted. Writers on
-- several replicas must not queue behind one counter row, so each statement
-- that changes credentials appends its net change per (organisation, detail)
-- in the same transaction, and a job folds the changes into one row per
-- (organisation, detail) now and then. A count is the sum of its rows: exact
-- at every moment, whatever commits in between.
CREATE TABLE credential_counts (
    id              BIGSERIAL PRIMARY KEY,
    organisation_id TEXT NOT NULL,
    status_detail   TEXT NOT NULL,
    active          BIGINT NOT NULL
);
CREATE INDEX credential_counts_by_organisation ON credential_counts (organisation_id, status_detail);
INSERT INTO credential_counts (organisation_id, status_detail, active)
SELECT organisation_id, status_detail, COUNT(*) FROM credentials
 WHERE deactivated_at IS NULL
 GROUP BY organisation_id, status_detail;

-- One function for the three statements: rows that leave a count are the old
-- ones, rows that enter are the new ones; unchanged rows cancel out.
CREATE FUNCTION credential_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_counts (organisation_id, status_detail, active)
    SELECT organisation_id, status_detail, COUNT(*) FROM new_rows
     WHERE deactivated_at IS NULL
     GROUP BY organisation_id, status_detail;
    RETURN NULL;
END $$;

CREATE FUNCTION credential_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_counts (organisation_id, status_detail, active)
    SELECT organisation_id, status_detail, SUM(change) FROM (
        SELECT organisation_id, status_detail, -1 AS change FROM old_rows WHERE deactivated_at IS NULL
        UNION ALL
        SELECT organisation_id, status_detail, 1 AS change FROM new_rows WHERE deactivated_at IS NULL
    ) AS changes
     GROUP BY organisation_id, status_detail
    HAVING SUM(change) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION credential_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_counts (organisation_id, status_detail, active)
    SELECT organisation_id, status_detail, -COUNT(*) FROM old_rows
     WHERE deactivated_at IS NULL
     GROUP BY organisation_id, status_detail;
    RETURN NULL;
END $$;

CREATE TRIGGER credential_counts_on_insert AFTER INSERT ON credentials
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION credential_counts_after_insert();
CREATE TRIGGER credential_counts_on_update AFTER UPDATE ON credentials
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION credential_counts_after_update();
CREATE TRIGGER credential_counts_on_delete AFTER DELETE ON credentials
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION credential_counts_after_delete();

-- Sorting by token expiry walks this index instead of sorting every row.
CREATE INDEX credentials_by_token_expiry ON credentials (organisation_id, token_expires_at, id)
    WHERE deactivated_at IS NULL;

-- Username search: a trigram index answers the listing's LOWER(username)
-- LIKE '%…%' without reading every row. pg_trgm ships with PostgreSQL and is
-- a trusted extension (the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX credentials_username_trigrams ON credentials USING gin (LOWER(username) gin_trgm_ops);
