-- Which run of its task an event belongs to (`runs.number`: 1 for the first prompt, then one
-- per follow-up), so a timeline can group follow-ups by run. New events take the task's latest
-- run when they are appended (a run and its first events commit together, and runs of one task
-- never overlap). Events between runs (a live sandbox started again) belong to the run before.
ALTER TABLE task_events ADD COLUMN run integer;

-- Existing events: the latest run created no later than the event.
UPDATE task_events e SET run = (
    SELECT max(r.number) FROM runs r WHERE r.task_id = e.task_id AND r.created_at <= e.at
);
