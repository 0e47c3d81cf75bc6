-- How Connect presents an organisation, and where it may be embedded.
ALTER TABLE organisations ADD COLUMN logo_url TEXT;
ALTER TABLE organisations ADD COLUMN accent_color TEXT;
ALTER TABLE organisations ADD COLUMN terms_url TEXT;
ALTER TABLE organisations ADD COLUMN privacy_url TEXT;

CREATE TABLE embed_origins (
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    origin           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, origin)
);
