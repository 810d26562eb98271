-- A task's pull request moves to its own table: `tasks` had reached 31 of diesel's 32 columns,
-- and a pull or merge request is its own thing (forges other than GitHub will add to it).
CREATE TABLE task_pull_requests (
    task_id UUID PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'merged')),
    merge_sha TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO task_pull_requests (task_id, number, url, status, merge_sha)
SELECT id, pr_number, pr_url, COALESCE(pr_status, 'open'), pr_merge_sha
FROM tasks
WHERE pr_number IS NOT NULL AND pr_url IS NOT NULL;

ALTER TABLE tasks
    DROP COLUMN pr_url,
    DROP COLUMN pr_number,
    DROP COLUMN pr_status,
    DROP COLUMN pr_merge_sha;
