-- A credential's page lists the webhooks sent about it.
CREATE INDEX webhook_deliveries_by_credential ON webhook_deliveries (credential_id, created_at, id)
    WHERE credential_id IS NOT NULL;
