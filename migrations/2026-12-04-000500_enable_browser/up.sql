-- Whether the task's agent gets a headless browser (a browser MCP server and the host's
-- Chromium, read-only) on every run, follow-ups included.
ALTER TABLE tasks ADD COLUMN enable_browser boolean NOT NULL DEFAULT false;
