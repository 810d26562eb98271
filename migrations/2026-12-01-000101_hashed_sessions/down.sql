DROP TABLE sessions;
CREATE TABLE sessions (
    session_key text PRIMARY KEY,
    state       jsonb NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
