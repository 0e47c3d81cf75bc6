-- The browser that drives a Connect session: the SHA-256 of a random value
-- Connect keeps in that browser's session storage and sends with every call.
-- Once the session succeeds, only that browser is shown its success.
ALTER TABLE connect_sessions ADD COLUMN browser_hash TEXT;
