DROP TRIGGER tasks_user_event_changed ON tasks;
DROP TRIGGER tasks_user_event_created ON tasks;
DROP FUNCTION drydock_task_changed();
DROP TABLE user_events;
DROP TABLE user_event_seqs;
