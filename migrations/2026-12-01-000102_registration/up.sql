-- Who may sign in: disabled accounts, and one-time invitations that let someone create a
-- local account or sign up with an OAuth provider once, while registration is closed.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

CREATE TABLE invites (
    id         uuid PRIMARY KEY,
    -- SHA-256 of the invitation token: the token is in the link only.
    token_hash bytea NOT NULL UNIQUE,
    is_admin   boolean NOT NULL DEFAULT false,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    used_by    uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX invites_created_at_idx ON invites (created_at);
