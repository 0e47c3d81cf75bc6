-- How long the credential's session token survives unused, when the utility
-- states it (`idleTimeoutSeconds`): syncs are scheduled before it idles out.
ALTER TABLE credentials ADD COLUMN token_idle_timeout_ms BIGINT;
