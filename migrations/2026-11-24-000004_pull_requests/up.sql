-- Pull request state mirrored from GitHub, refreshed whenever the API reads or changes the PR.
-- `pr_status` is open, closed or merged; `pr_merge_sha` is the merge commit once merged.
ALTER TABLE tasks
    ADD COLUMN pr_status TEXT CHECK (pr_status IN ('open', 'closed', 'merged')),
    ADD COLUMN pr_merge_sha TEXT;
