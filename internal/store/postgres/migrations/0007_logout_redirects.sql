-- Where /oidc/session/end may send a user of the app after sign-out,
-- besides the issuer's own origin: exact URLs, one a line.
ALTER TABLE apps ADD COLUMN logout_redirect_uris TEXT NOT NULL DEFAULT '';
