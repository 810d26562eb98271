ALTER TABLE tasks
    ADD COLUMN pr_url TEXT,
    ADD COLUMN pr_number BIGINT,
    ADD COLUMN pr_status TEXT CHECK (pr_status IN ('open', 'closed', 'merged')),
    ADD COLUMN pr_merge_sha TEXT;

UPDATE tasks t
SET pr_url = p.url, pr_number = p.number, pr_status = p.status, pr_merge_sha = p.merge_sha
FROM task_pull_requests p
WHERE p.task_id = t.id;

DROP TABLE task_pull_requests;
