-- Failed operator sign-ins, to slow down password guessing (per email).
CREATE TABLE sign_in_failures (
    email      TEXT NOT NULL,
    failed_at  BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_email ON sign_in_failures (email, failed_at);
