DROP TRIGGER sessions_auth_deleted ON sessions;
DROP TRIGGER sessions_auth_changed ON sessions;
DROP TRIGGER identities_auth_changed ON identities;
DROP TRIGGER users_auth_deleted ON users;
DROP TRIGGER users_auth_changed ON users;
DROP TRIGGER api_tokens_auth_deleted ON api_tokens;
DROP TRIGGER api_tokens_auth_changed ON api_tokens;
DROP FUNCTION drydock_auth_notify();
