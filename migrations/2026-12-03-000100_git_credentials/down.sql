DROP TABLE git_credentials;
