-- The scope granted at sign-in, so a refresh can keep it and never widen it.
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT '';
