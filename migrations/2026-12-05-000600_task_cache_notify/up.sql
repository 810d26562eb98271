-- Every change to what `GET /tasks/{id}`, the task list or an event page's ownership check
-- shows is announced on `drydock_tasks` as `<user id>:<task id>` (delivered at commit), so each
-- process's task read cache (`crates/api/src/tasks/cache.rs`) forgets that task and the owner's
-- list pages at once, whoever made the change: the API, any worker, the reaper, an operator's
-- SQL.
CREATE FUNCTION drydock_task_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed tasks%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    PERFORM pg_notify('drydock_tasks', changed.user_id::text || ':' || changed.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_cache_inserted_or_deleted AFTER INSERT OR DELETE ON tasks FOR EACH ROW
    EXECUTE FUNCTION drydock_task_cache_notify();
-- Every column but `last_seq`: appending events bumps it many times a second during a run, and
-- a cached read only ever uses it as a lower bound (seqs only grow). A column added to `tasks`
-- must be added here (`tests/api/hot_paths.rs` checks that none is missing).
CREATE TRIGGER tasks_cache_updated AFTER UPDATE OF
        id, user_id, title, prompt, repo_url, agent, model, agent_version, status, stage,
        base_branch, branch_name, error, install_dependencies, max_duration_minutes, keep_alive,
        create_pr, connector_ids, session_id, sandbox_id, stop_requested_at, created_at,
        updated_at, started_at, completed_at, deleted_at, sandbox_starting_at, sandbox_error,
        sandbox_warned_until, source_url, enable_browser
    ON tasks FOR EACH ROW
    EXECUTE FUNCTION drydock_task_cache_notify();

-- A task's pull request is part of its read (`pr_url`, `pr_number`).
CREATE FUNCTION drydock_task_pr_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    task uuid;
    owner uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        task := OLD.task_id;
    ELSE
        task := NEW.task_id;
    END IF;
    SELECT user_id INTO owner FROM tasks WHERE id = task;
    IF owner IS NOT NULL THEN
        PERFORM pg_notify('drydock_tasks', owner::text || ':' || task::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER task_pull_requests_cache AFTER INSERT OR UPDATE OR DELETE ON task_pull_requests
    FOR EACH ROW EXECUTE FUNCTION drydock_task_pr_cache_notify();
