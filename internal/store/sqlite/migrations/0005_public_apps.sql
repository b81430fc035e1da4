-- Whether an app is public (cannot keep a secret) and so may use the token
-- endpoints without authenticating. Existing apps become confidential.
ALTER TABLE apps ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
