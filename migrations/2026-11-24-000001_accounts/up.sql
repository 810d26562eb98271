-- Accounts: users, their OAuth identities, personal API tokens, browser sessions and the
-- one-time setup token that creates the first administrator.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    name          text,
    email         text,
    avatar_url    text,
    password_hash text,
    is_admin      boolean NOT NULL DEFAULT false,
    auth_provider text NOT NULL DEFAULT 'local',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE identities (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider          text NOT NULL,
    external_id       text NOT NULL,
    login             text NOT NULL,
    -- AEAD ciphertexts under the master key; never returned by the API.
    access_token_enc  text,
    refresh_token_enc text,
    scope             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE INDEX identities_user_id_idx ON identities (user_id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL,
    -- SHA-256 of the secret: the secret itself is shown once and never stored.
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

CREATE TABLE sessions (
    session_key text PRIMARY KEY,
    state       jsonb NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE setup_tokens (
    token_hash bytea PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
