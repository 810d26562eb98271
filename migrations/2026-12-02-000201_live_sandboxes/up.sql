-- Live sandboxes (`/tasks/{id}/sandbox/...`): a start in progress (any process may see it; one
-- older than the start timeout counts as failed), why the last start failed, and the expiry
-- the one-minute warning was last sent for (so it is sent once per expiry, across processes).
ALTER TABLE tasks
    ADD COLUMN sandbox_starting_at  timestamptz,
    ADD COLUMN sandbox_error        text,
    ADD COLUMN sandbox_warned_until timestamptz;
