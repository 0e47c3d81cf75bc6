-- An endpoint that answered 410 Gone is disabled: nothing is sent to it (its
-- messages wait) until an admin saves it again.
ALTER TABLE webhook_endpoints ADD COLUMN disabled_at BIGINT;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;
