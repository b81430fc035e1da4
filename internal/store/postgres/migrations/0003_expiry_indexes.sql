-- Expired rows are deleted by expires_at: the outbox on every claim, the
-- rest by the periodic sweep. Without an index each of those scans the
-- whole table while holding the write lock.
CREATE INDEX outbox_expires ON outbox(expires_at);
CREATE INDEX codes_expires ON codes(expires_at);
CREATE INDEX reset_tokens_expires ON reset_tokens(expires_at);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);
