-- API tokens get scopes (`read`: safe methods, `write`: changes, `tokens`: minting tokens) and
-- an optional expiry. Existing tokens keep every scope, which is what they could do so far.
ALTER TABLE api_tokens
    ADD COLUMN scopes     text[] NOT NULL DEFAULT '{read,write,tokens}',
    ADD COLUMN expires_at timestamptz;
