-- Who caused a webhook message, as credential events name it (`operator:…`,
-- `api_key:…`, `end_user`, `job:…`); the delivery log shows it by name.
-- Messages queued before this migration have none.
ALTER TABLE webhook_deliveries ADD COLUMN actor TEXT;
