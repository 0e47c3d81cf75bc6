-- What a webhook endpoint answered (its first 64 KiB), shown beside each attempt.
ALTER TABLE webhook_attempts ADD COLUMN response_body TEXT;
-- Counting each organisation's messages in flight, for fair delivery.
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (organisation_id, lease_until)
    WHERE state = 'PENDING' AND lease_until IS NOT NULL;
