ALTER TABLE tasks
    DROP COLUMN pr_merge_sha,
    DROP COLUMN pr_status;
