ALTER TABLE task_events DROP COLUMN run;
