ALTER TABLE tasks
    DROP COLUMN sandbox_warned_until,
    DROP COLUMN sandbox_error,
    DROP COLUMN sandbox_starting_at;
