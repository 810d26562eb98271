//! Table definitions matching `migrations/`.

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        is_admin -> Bool,
        auth_provider -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    identities (id) {
        id -> Uuid,
        user_id -> Uuid,
        provider -> Text,
        external_id -> Text,
        login -> Text,
        access_token_enc -> Nullable<Text>,
        refresh_token_enc -> Nullable<Text>,
        scope -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        prefix -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (session_key) {
        session_key -> Text,
        state -> Jsonb,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Bytea,
        created_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(identities -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    identities,
    api_tokens,
    sessions,
    setup_tokens
);
