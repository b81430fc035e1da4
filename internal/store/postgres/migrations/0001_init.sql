-- The same schema as sqlite/migrations/0001_init.sql, in PostgreSQL types.
-- Times are Unix milliseconds; 0 means "never" (used_at, revoked_at, ...).
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);

CREATE TABLE apps (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	secret_hash BYTEA NOT NULL,
	created_at  BIGINT NOT NULL
);

CREATE TABLE users (
	id                   TEXT PRIMARY KEY,
	email                TEXT NOT NULL DEFAULT '',
	email_key            TEXT UNIQUE,
	email_verified       BOOLEAN NOT NULL DEFAULT FALSE,
	phone                TEXT UNIQUE,
	phone_verified       BOOLEAN NOT NULL DEFAULT FALSE,
	username             TEXT NOT NULL DEFAULT '',
	username_key         TEXT UNIQUE,
	password_hash        TEXT NOT NULL DEFAULT '',
	profile              TEXT NOT NULL DEFAULT '{}',
	status               TEXT NOT NULL,
	logins_count         BIGINT NOT NULL DEFAULT 0,
	last_login           BIGINT NOT NULL DEFAULT 0,
	last_ip              TEXT NOT NULL DEFAULT '',
	password_last_set_at BIGINT NOT NULL DEFAULT 0,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);

CREATE TABLE codes (
	target     TEXT NOT NULL,
	channel    TEXT NOT NULL,
	code_hash  BYTEA NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (target, channel)
);

CREATE TABLE throttles (
	key          TEXT NOT NULL,
	window_start BIGINT NOT NULL,
	count        BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	PRIMARY KEY (key, window_start)
);
CREATE INDEX throttles_expires ON throttles(expires_at);

CREATE TABLE reset_tokens (
	token_hash BYTEA PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	app_id     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX reset_tokens_user ON reset_tokens(user_id);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	app_id     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
	token_hash BYTEA PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE outbox (
	id           BIGSERIAL PRIMARY KEY,
	kind         TEXT NOT NULL,
	payload      BYTEA NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL,
	not_before   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	leased_until BIGINT NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(not_before);
