-- Tasks and their runs, conversation, event log, and per-user limits and quota.

CREATE TABLE tasks (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title                text NOT NULL,
    prompt               text NOT NULL,
    repo_url             text NOT NULL,
    agent                text NOT NULL,
    model                text,
    agent_version        text,
    status               text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'error', 'stopped')),
    stage                text NOT NULL DEFAULT 'queued'
        CHECK (stage IN ('queued', 'provisioning', 'cloning', 'installing', 'running_agent', 'committing', 'pushing', 'done')),
    base_branch          text,
    branch_name          text,
    error                text,
    install_dependencies boolean NOT NULL DEFAULT false,
    max_duration_minutes integer NOT NULL,
    keep_alive           boolean NOT NULL DEFAULT false,
    create_pr            boolean NOT NULL DEFAULT false,
    connector_ids        uuid[] NOT NULL DEFAULT '{}',
    session_id           text,
    sandbox_id           text,
    pr_url               text,
    pr_number            bigint,
    -- Allocator of event sequence numbers: events take `last_seq + 1 ..` under this row's lock.
    last_seq             bigint NOT NULL DEFAULT 0,
    stop_requested_at    timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    completed_at         timestamptz,
    deleted_at           timestamptz
);
CREATE INDEX tasks_user_listing_idx ON tasks (user_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- One run per agent turn: the first prompt, then each follow-up. PostgreSQL is the queue.
CREATE TABLE runs (
    id               uuid PRIMARY KEY,
    task_id          uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number           integer NOT NULL,
    prompt           text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'error', 'stopped')),
    attempts         integer NOT NULL DEFAULT 0,
    worker_id        text,
    lease_expires_at timestamptz,
    agent_version    text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    UNIQUE (task_id, number)
);
CREATE INDEX runs_pending_idx ON runs (created_at) WHERE status = 'pending';
CREATE INDEX runs_processing_idx ON runs (lease_expires_at) WHERE status = 'processing';
CREATE INDEX runs_user_processing_idx ON runs (user_id) WHERE status = 'processing';

CREATE TABLE task_messages (
    id         uuid PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    run_id     uuid REFERENCES runs (id) ON DELETE SET NULL,
    role       text NOT NULL CHECK (role IN ('user', 'agent')),
    content    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_messages_task_idx ON task_messages (task_id, created_at);

-- Append-only. Reads never rewrite; appending costs the same at a million events as at one.
CREATE TABLE task_events (
    task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL,
    payload jsonb NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE user_limits (
    user_id              uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    daily_quota          integer CHECK (daily_quota >= 0),
    max_duration_minutes integer CHECK (max_duration_minutes > 0),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Tasks and follow-ups counted per UTC day. Deleting a task gives nothing back.
CREATE TABLE quota_usage (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day     date NOT NULL,
    used    integer NOT NULL,
    PRIMARY KEY (user_id, day)
);
