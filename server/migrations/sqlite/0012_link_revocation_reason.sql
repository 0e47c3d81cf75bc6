-- Why a Connect link stopped working, so its page can say so: REPLACED (a
-- newer link), REVOKED (by an operator) or DEACTIVATED (its credential).
ALTER TABLE connect_sessions ADD COLUMN revoked_reason TEXT;
