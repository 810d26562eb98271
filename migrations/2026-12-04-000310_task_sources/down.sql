DROP INDEX user_events_at_idx;
DROP INDEX tasks_user_repo_idx;
ALTER TABLE tasks DROP COLUMN source_url;
