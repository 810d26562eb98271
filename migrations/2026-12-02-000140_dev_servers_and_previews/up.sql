-- A task's dev server: the task's own command and port (create body `dev_command`, `dev_port`)
-- and the state of the process that runs it in the kept-alive sandbox.
CREATE TABLE task_dev_servers (
    task_id     uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    dev_command text,
    dev_port    integer CHECK (dev_port BETWEEN 1024 AND 65535),
    -- not_found | stopped | running | exited
    state       text NOT NULL DEFAULT 'stopped',
    command     text,
    port        integer,
    source      text,
    exit_code   integer,
    detail      text,
    started_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One-time links to a task's preview. The link's token and, once it has been opened, the
-- preview cookie are stored as SHA-256 hashes; a link is used at most once.
CREATE TABLE preview_grants (
    id                uuid PRIMARY KEY,
    task_id           uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash        bytea NOT NULL UNIQUE,
    token_expires_at  timestamptz NOT NULL,
    used_at           timestamptz,
    cookie_hash       bytea UNIQUE,
    cookie_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX preview_grants_task ON preview_grants (task_id);
