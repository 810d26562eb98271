ALTER TABLE tasks DROP COLUMN enable_browser;
