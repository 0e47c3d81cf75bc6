-- Sign-in failures are counted per client (and per client and email), so a
-- stranger cannot lock an operator out; each attempt is recorded before its
-- password is checked (and removed when it succeeds).
ALTER TABLE sign_in_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE sign_in_failures ADD COLUMN attempt TEXT;
CREATE INDEX sign_in_failures_by_client ON sign_in_failures (client, failed_at);
CREATE INDEX sign_in_failures_by_attempt ON sign_in_failures (attempt);
