DROP TRIGGER task_pull_requests_cache ON task_pull_requests;
DROP FUNCTION drydock_task_pr_cache_notify();
DROP TRIGGER tasks_cache_updated ON tasks;
DROP TRIGGER tasks_cache_inserted_or_deleted ON tasks;
DROP FUNCTION drydock_task_cache_notify();
