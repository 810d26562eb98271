-- Browser sessions are found by the SHA-256 of the cookie's session key, as API tokens are by
-- the hash of theirs: a copy of this table (a backup, a read-only SQL injection) holds no
-- usable session. The old table stored keys in clear and cannot be re-keyed without them, so
-- it is dropped: everyone signs in again once.
--
-- `id` and `user_id` are copied out of the session state when it is saved, so that a session
-- can be checked (a long-lived event stream) and ended (a disabled user) by id and user.
-- `expires_at` is the idle deadline, pushed forward as the session is used; `created_at`
-- bounds its whole life.
DROP TABLE sessions;
CREATE TABLE sessions (
    key_hash   bytea PRIMARY KEY,
    id         uuid UNIQUE,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    state      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
