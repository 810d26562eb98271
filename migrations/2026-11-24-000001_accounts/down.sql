DROP TABLE setup_tokens;
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE identities;
DROP TABLE users;
