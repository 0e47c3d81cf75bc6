-- The language Connect uses for an organisation's end-users when the browser
-- asks for none Connect speaks (and no ?lang= forces one): 'en' or 'es'.
ALTER TABLE organisations ADD COLUMN connect_language TEXT NOT NULL DEFAULT 'en';
