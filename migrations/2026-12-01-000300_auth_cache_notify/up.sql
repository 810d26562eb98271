-- Each API process keeps who a token or a session belongs to in memory for a few seconds
-- (crates/api/src/auth/cache.rs). Every change that could end or narrow that is announced on
-- `drydock_auth` by the database itself, whoever makes it (an API process, `drydock token
-- revoke`, an operator's SQL), so every process forgets the entry at once:
--   `t:<token id>`    a token was revoked, re-scoped, given another expiry, or deleted;
--   `u:<user id>`     a user changed (disabled, made or unmade administrator, profile), went,
--                     or linked, relinked or unlinked an identity (`/me` says whether GitHub is);
--   `s:<key hash>`    a session ended, or its deadline, start or state changed.
-- Writes that cannot take anything away stay silent: a token's `last_used_at`, and a session's
-- idle deadline moving forward.
CREATE FUNCTION drydock_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'api_tokens' THEN
        PERFORM pg_notify('drydock_auth', 't:' || OLD.id::text);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('drydock_auth', 'u:' || OLD.id::text);
    ELSIF TG_TABLE_NAME = 'identities' THEN
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('drydock_auth', 'u:' || OLD.user_id::text);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('drydock_auth', 'u:' || NEW.user_id::text);
        END IF;
    ELSE
        PERFORM pg_notify('drydock_auth', 's:' || encode(OLD.key_hash, 'hex'));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_auth_changed AFTER UPDATE ON api_tokens FOR EACH ROW
    WHEN ((OLD.revoked_at, OLD.expires_at, OLD.scopes, OLD.user_id, OLD.token_hash)
          IS DISTINCT FROM (NEW.revoked_at, NEW.expires_at, NEW.scopes, NEW.user_id, NEW.token_hash))
    EXECUTE FUNCTION drydock_auth_notify();
CREATE TRIGGER api_tokens_auth_deleted AFTER DELETE ON api_tokens FOR EACH ROW
    EXECUTE FUNCTION drydock_auth_notify();

CREATE TRIGGER users_auth_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION drydock_auth_notify();
CREATE TRIGGER users_auth_deleted AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION drydock_auth_notify();

CREATE TRIGGER identities_auth_changed AFTER INSERT OR UPDATE OR DELETE ON identities FOR EACH ROW
    EXECUTE FUNCTION drydock_auth_notify();

CREATE TRIGGER sessions_auth_changed AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (NEW.expires_at < OLD.expires_at
          OR (OLD.created_at, OLD.state, OLD.user_id, OLD.id)
             IS DISTINCT FROM (NEW.created_at, NEW.state, NEW.user_id, NEW.id))
    EXECUTE FUNCTION drydock_auth_notify();
-- Sessions purged once idle or too old are already refused by every cache: stay silent for them.
CREATE TRIGGER sessions_auth_deleted AFTER DELETE ON sessions FOR EACH ROW
    WHEN (OLD.expires_at > now())
    EXECUTE FUNCTION drydock_auth_notify();
