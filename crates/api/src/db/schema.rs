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
        disabled_at -> Nullable<Timestamptz>,
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
        scopes -> Array<Text>,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Bytea,
        id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        state -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    invites (id) {
        id -> Uuid,
        token_hash -> Bytea,
        is_admin -> Bool,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        used_by -> Nullable<Uuid>,
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
    setup_tokens,
    invites
);

diesel::table! {
    tasks (id) {
        id -> Uuid,
        user_id -> Uuid,
        title -> Text,
        prompt -> Text,
        repo_url -> Text,
        agent -> Text,
        model -> Nullable<Text>,
        agent_version -> Nullable<Text>,
        status -> Text,
        stage -> Text,
        base_branch -> Nullable<Text>,
        branch_name -> Nullable<Text>,
        error -> Nullable<Text>,
        install_dependencies -> Bool,
        max_duration_minutes -> Int4,
        keep_alive -> Bool,
        create_pr -> Bool,
        connector_ids -> Array<Uuid>,
        session_id -> Nullable<Text>,
        sandbox_id -> Nullable<Text>,
        last_seq -> Int8,
        stop_requested_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        sandbox_starting_at -> Nullable<Timestamptz>,
        sandbox_error -> Nullable<Text>,
        sandbox_warned_until -> Nullable<Timestamptz>,
        source_url -> Nullable<Text>,
        enable_browser -> Bool,
    }
}

diesel::table! {
    runs (id) {
        id -> Uuid,
        task_id -> Uuid,
        user_id -> Uuid,
        number -> Int4,
        prompt -> Text,
        status -> Text,
        attempts -> Int4,
        worker_id -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamptz>,
        agent_version -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        agent_deadline_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_messages (id) {
        id -> Uuid,
        task_id -> Uuid,
        run_id -> Nullable<Uuid>,
        role -> Text,
        content -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    task_events (task_id, seq) {
        task_id -> Uuid,
        seq -> Int8,
        at -> Timestamptz,
        kind -> Text,
        payload -> Jsonb,
        run -> Nullable<Int4>,
    }
}

diesel::table! {
    user_limits (user_id) {
        user_id -> Uuid,
        daily_quota -> Nullable<Int4>,
        max_duration_minutes -> Nullable<Int4>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    quota_usage (user_id, day) {
        user_id -> Uuid,
        day -> Date,
        used -> Int4,
    }
}

diesel::table! {
    task_pull_requests (task_id) {
        task_id -> Uuid,
        number -> Int8,
        url -> Text,
        status -> Text,
        merge_sha -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(tasks -> users (user_id));
diesel::joinable!(task_pull_requests -> tasks (task_id));
diesel::joinable!(runs -> tasks (task_id));
diesel::joinable!(task_messages -> tasks (task_id));
diesel::joinable!(task_messages -> runs (run_id));
diesel::table! {
    user_event_seqs (user_id) {
        user_id -> Uuid,
        last_seq -> Int8,
    }
}

diesel::table! {
    user_events (user_id, seq) {
        user_id -> Uuid,
        seq -> Int8,
        at -> Timestamptz,
        kind -> Text,
        payload -> Jsonb,
    }
}

diesel::joinable!(task_events -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(
    tasks,
    task_pull_requests,
    runs,
    task_messages,
    task_events,
    user_limits,
    quota_usage,
    users
);

diesel::table! {
    user_keys (user_id, provider) {
        user_id -> Uuid,
        provider -> Text,
        value_enc -> Text,
        last4 -> Text,
        base_url -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    connectors (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        kind -> Text,
        command -> Nullable<Text>,
        args -> Array<Text>,
        url -> Nullable<Text>,
        env_enc -> Nullable<Text>,
        headers_enc -> Nullable<Text>,
        enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    task_dev_servers (task_id) {
        task_id -> Uuid,
        dev_command -> Nullable<Text>,
        dev_port -> Nullable<Int4>,
        state -> Text,
        command -> Nullable<Text>,
        port -> Nullable<Int4>,
        source -> Nullable<Text>,
        exit_code -> Nullable<Int4>,
        detail -> Nullable<Text>,
        started_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    preview_grants (id) {
        id -> Uuid,
        task_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        token_expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        cookie_hash -> Nullable<Bytea>,
        cookie_expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(task_dev_servers -> tasks (task_id));
diesel::joinable!(preview_grants -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(task_dev_servers, preview_grants, tasks);

diesel::table! {
    git_credentials (user_id, host) {
        user_id -> Uuid,
        host -> Text,
        kind -> Text,
        api_url -> Nullable<Text>,
        token_enc -> Text,
        token_last4 -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}
