-- Stale credentials: connected, yet no data for GRIDLINK_STALE_AFTER.
-- `last_fresh_at` is the later of the last successful sync and the last
-- connection (a new session token starts the clock again); `stale_since` is
-- when the credential was flagged, cleared by the next successful sync.
ALTER TABLE credentials ADD COLUMN last_fresh_at BIGINT;
ALTER TABLE credentials ADD COLUMN stale_since BIGINT;
UPDATE credentials SET last_fresh_at = CASE
    WHEN last_synced_at IS NULL THEN first_connected_at
    WHEN first_connected_at IS NULL OR last_synced_at > first_connected_at THEN last_synced_at
    ELSE first_connected_at END;
-- The staleness sweep reads only credentials not flagged yet, oldest data first.
CREATE INDEX credentials_freshness ON credentials (last_fresh_at)
    WHERE stale_since IS NULL AND deactivated_at IS NULL;
-- The list's "stale" filter and the overview's count.
CREATE INDEX credentials_stale ON credentials (organisation_id, stale_since, id)
    WHERE stale_since IS NOT NULL AND deactivated_at IS NULL;
