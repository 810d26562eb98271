DROP TABLE quota_usage;
DROP TABLE user_limits;
DROP TABLE task_events;
DROP TABLE task_messages;
DROP TABLE runs;
DROP TABLE tasks;
