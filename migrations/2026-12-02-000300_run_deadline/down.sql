ALTER TABLE runs DROP COLUMN agent_deadline_at;
