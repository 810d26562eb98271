-- When the running agent of a run must end: set as the agent starts (its task's
-- max_duration_minutes from then), moved later by the owner's extend; the worker follows it.
ALTER TABLE runs ADD COLUMN agent_deadline_at timestamptz;
