DROP TABLE connectors;
DROP TABLE user_keys;
