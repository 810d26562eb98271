-- Each user's own append-only log of changes to their tasks, behind
-- `GET /api/v1/me/events/stream` (the sidebar's live list). The database writes it itself, from
-- a trigger on `tasks`, so every writer of a status, stage or title (the API, any worker, the
-- reaper, an operator's SQL) is covered without each having to remember.
--
-- Seqs are per user, consecutive, and allocated under the lock of the user's row in
-- `user_event_seqs`, held until commit: a user's changes commit in seq order, so a reader that
-- has seen seq N has seen everything before it (resuming by `Last-Event-ID` leaves no gap). The
-- lock is per user, so only one user's own task changes ever wait on each other.
CREATE TABLE user_event_seqs (
    user_id  uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_seq bigint NOT NULL
);

CREATE TABLE user_events (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL,
    payload jsonb NOT NULL,
    PRIMARY KEY (user_id, seq)
);

-- `kind` `task`: the task as it is after the change (`created`, `updated` or `deleted`).
-- Announced on `drydock_user_events` as `<user id>:<seq>` (delivered at commit).
CREATE FUNCTION drydock_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change   text;
    next_seq bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        change := 'created';
    ELSIF OLD.deleted_at IS NOT NULL THEN
        -- Nothing about a deleted task is news any more.
        RETURN NULL;
    ELSIF NEW.deleted_at IS NOT NULL THEN
        change := 'deleted';
    ELSE
        change := 'updated';
    END IF;
    INSERT INTO user_event_seqs AS s (user_id, last_seq) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + 1
        RETURNING s.last_seq INTO next_seq;
    INSERT INTO user_events (user_id, seq, kind, payload)
        VALUES (NEW.user_id, next_seq, 'task', jsonb_build_object(
            'task_id', NEW.id, 'change', change, 'status', NEW.status, 'stage', NEW.stage,
            'title', NEW.title));
    PERFORM pg_notify('drydock_user_events', NEW.user_id::text || ':' || next_seq::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_user_event_created AFTER INSERT ON tasks FOR EACH ROW
    EXECUTE FUNCTION drydock_task_changed();
-- Only what the list shows: appending events (`last_seq`), heartbeats and the like stay silent.
CREATE TRIGGER tasks_user_event_changed AFTER UPDATE OF status, stage, title, deleted_at ON tasks
    FOR EACH ROW
    WHEN ((OLD.status, OLD.stage, OLD.title, OLD.deleted_at)
          IS DISTINCT FROM (NEW.status, NEW.stage, NEW.title, NEW.deleted_at))
    EXECUTE FUNCTION drydock_task_changed();
