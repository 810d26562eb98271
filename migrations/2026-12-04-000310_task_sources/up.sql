-- The forge item a task was started from (an issue's or a reverted commit's web URL), so the
-- repository browser can say "this issue already has a task" and link to it. Tasks on a pull
-- or merge request are linked through `task_pull_requests.url` already.
ALTER TABLE tasks ADD COLUMN source_url text;

-- The sidebar's repositories with the caller's task counts (`GET /me/repos`), and the lookup of
-- a repository's linked items (`GET /me/task-links`): both read one user's live tasks of one
-- repository.
CREATE INDEX tasks_user_repo_idx ON tasks (user_id, repo_url) WHERE deleted_at IS NULL;

-- `user_events` are pruned by age (the reaper); the stream only ever resumes from recent seqs.
CREATE INDEX user_events_at_idx ON user_events (at);
