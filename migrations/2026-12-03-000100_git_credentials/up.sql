-- Users' personal access tokens per git host (crates/api/src/git_credentials). The token is an
-- AEAD ciphertext under the master key, bound to (table, column, user, host), and is never
-- returned by the API. `host` is the normalised `host` or `host:port` the token may be sent to.
CREATE TABLE git_credentials (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    host         text NOT NULL CHECK (host = lower(host) AND length(host) BETWEEN 1 AND 260),
    kind         text NOT NULL CHECK (kind IN ('github', 'gitlab', 'gitea', 'git')),
    api_url      text,
    token_enc    text NOT NULL,
    token_last4  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    PRIMARY KEY (user_id, host)
);
