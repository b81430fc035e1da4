-- A user's credential version goes up with every password change; a
-- session carries the version its sign-in read with the password it
-- checked. A session whose version is not its user's counts as ended, so
-- a sign-in that checked the old password while a reset ran cannot open a
-- session that outlives the reset.
ALTER TABLE users ADD COLUMN cred_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cred_version BIGINT NOT NULL DEFAULT 0;
-- The email a reset token's code went to ('' for a phone): spending the
-- token proves that address, which becomes verified.
ALTER TABLE reset_tokens ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
