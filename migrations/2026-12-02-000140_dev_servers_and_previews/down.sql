DROP TABLE preview_grants;
DROP TABLE task_dev_servers;
