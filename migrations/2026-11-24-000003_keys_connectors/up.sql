-- Users' provider API keys and MCP connectors. Secret values are AEAD ciphertexts under the
-- master key and are never returned by the API.

CREATE TABLE user_keys (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   text NOT NULL CHECK (provider IN ('anthropic', 'openai', 'gemini', 'cursor', 'github-copilot')),
    value_enc  text NOT NULL,
    last4      text NOT NULL,
    base_url   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider)
);

CREATE TABLE connectors (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('local', 'remote')),
    command     text,
    args        text[] NOT NULL DEFAULT '{}',
    url         text,
    env_enc     text,
    headers_enc text,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
