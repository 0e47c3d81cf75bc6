-- A send or a code check claims its slot in the database before the utility
-- is called, so parallel requests cannot get past the caps (see
-- server/src/connect/mfa_slots.rs).
-- A utility call for this verification is in flight until then.
ALTER TABLE credentials ADD COLUMN mfa_in_flight_until BIGINT;
-- When the last code was sent (the resend cooldown).
ALTER TABLE credentials ADD COLUMN mfa_last_send_at BIGINT;
-- Codes checked at the utility in the day that started at mfa_day_started_at,
-- across every attempt: reconnecting does not reset it.
ALTER TABLE credentials ADD COLUMN mfa_day_started_at BIGINT;
ALTER TABLE credentials ADD COLUMN mfa_day_code_checks BIGINT NOT NULL DEFAULT 0;
