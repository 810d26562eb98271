//! The administration page: users (administrator or not, disabled or not, their limits) and
//! invitation links. The API refuses all of it to anyone but administrators; the page only
//! spares them a wall of errors.

use shared::admin::{CreateInvite, CreatedInvite, ManagedUser, UpdateUser};
use shared::agents::UserLimits;
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_check, confirm, copy_text};
use crate::hooks::{use_action, use_fetch, use_session};
use crate::services::api;
use crate::util::{now_ms, relative_time};

/// The page.
#[component]
pub fn Admin() -> Html {
    let session = use_session();
    if !session.me().is_some_and(|m| m.is_admin) {
        return html! {
            <section class="page" data-testid="admin-forbidden">
                <h1>{ "Administration" }</h1>
                <p class="muted">{ "This page is for administrators." }</p>
            </section>
        };
    }
    html! {
        <section class="page admin" data-testid="admin">
            <h1>{ "Administration" }</h1>
            <Invites />
            <Users />
        </section>
    }
}

#[component]
fn Users() -> Html {
    let session = use_session();
    let me = session.me().map(|m| m.id);
    let list = use_fetch((), |()| api::admin_users());
    let update = {
        let reload = list.reload.clone();
        use_action(move |(id, body): (Uuid, UpdateUser)| {
            let reload = reload.clone();
            async move {
                let result = api::admin_update_user(id, &body).await.map(|_| ());
                reload.emit(());
                result
            }
        })
    };
    let limits_open = use_state(|| None::<Uuid>);
    let now = now_ms();
    html! {
        <div class="card" data-testid="admin-users">
            <h2>{ "Users" }</h2>
            { maybe_error(&update.error) }
            { async_content(&list.state, |users: &Vec<ManagedUser>| html! {
                <table class="list" data-testid="admin-user-list">
                    <thead><tr>
                        <th>{ "User" }</th><th>{ "Signs in with" }</th><th>{ "Joined" }</th>
                        <th>{ "Administrator" }</th><th>{ "Account" }</th><th />
                    </tr></thead>
                    <tbody>
                    { for users.iter().map(|u| {
                        let id = u.id;
                        let myself = me == Some(id);
                        let toggle_admin = {
                            let (run, admin) = (update.run.clone(), u.is_admin);
                            Callback::from(move |_: MouseEvent| {
                                run.emit((id, UpdateUser { is_admin: Some(!admin), ..Default::default() }));
                            })
                        };
                        let toggle_disabled = {
                            let (run, disabled) = (update.run.clone(), u.disabled);
                            Callback::from(move |_: MouseEvent| {
                                if disabled || confirm("Disable this account? Its sessions end and its API tokens stop working at once.") {
                                    run.emit((id, UpdateUser { disabled: Some(!disabled), ..Default::default() }));
                                }
                            })
                        };
                        let show_limits = {
                            let open = limits_open.clone();
                            Callback::from(move |_: MouseEvent| {
                                open.set(if *open == Some(id) { None } else { Some(id) });
                            })
                        };
                        html! {
                            <>
                            <tr key={id.to_string()} data-testid="admin-user-row" data-username={u.username.clone()}
                                class={classes!(u.disabled.then_some("muted"))}>
                                <td>
                                    <strong>{ &u.username }</strong>
                                    if let Some(name) = &u.name { <div class="small muted">{ name }</div> }
                                    if let Some(email) = &u.email { <div class="small muted">{ email }</div> }
                                </td>
                                <td>{ &u.auth_provider }</td>
                                <td>{ relative_time(u.created_at, now) }</td>
                                <td>
                                    <button class={classes!("chip", u.is_admin.then_some("selected"))}
                                            data-testid="admin-toggle" aria-pressed={u.is_admin.to_string()}
                                            disabled={update.busy} onclick={toggle_admin}>
                                        { if u.is_admin { "Administrator" } else { "Make administrator" } }
                                    </button>
                                </td>
                                <td>
                                    <button class={classes!("btn", "small", (!u.disabled).then_some("danger-text"))}
                                            data-testid="disable-toggle" disabled={update.busy || myself}
                                            title={if myself { "You cannot disable yourself" } else { "" }}
                                            onclick={toggle_disabled}>
                                        { if u.disabled { "Enable" } else { "Disable" } }
                                    </button>
                                </td>
                                <td><button class="btn small" data-testid="limits-toggle" onclick={show_limits}>{ "Limits" }</button></td>
                            </tr>
                            if *limits_open == Some(id) {
                                <tr key={format!("{id}-limits")}><td colspan="6"><Limits {id} /></td></tr>
                            }
                            </>
                        }
                    }) }
                    </tbody>
                </table>
            }) }
        </div>
    }
}

/// Props of [`Limits`].
#[derive(Properties, PartialEq)]
struct LimitsProps {
    id: Uuid,
}

/// One user's daily quota and longest run; empty fields use the server's defaults.
#[component]
fn Limits(props: &LimitsProps) -> Html {
    let id = props.id;
    let current = use_fetch(id, api::admin_user_limits);
    let quota = use_state(String::new);
    let minutes = use_state(String::new);
    {
        let (quota, minutes) = (quota.clone(), minutes.clone());
        let loaded = current.data().cloned();
        use_effect_with(loaded, move |loaded| {
            if let Some(l) = loaded {
                quota.set(l.daily_quota.map(|q| q.to_string()).unwrap_or_default());
                minutes.set(l.max_duration_minutes.map(|m| m.to_string()).unwrap_or_default());
            }
        });
    }
    let save = {
        let reload = current.reload.clone();
        use_action(move |body: UserLimits| {
            let reload = reload.clone();
            async move {
                api::admin_set_user_limits(id, &body).await?;
                reload.emit(());
                Ok(())
            }
        })
    };
    let onsubmit = {
        let (quota, minutes, run) = (quota.clone(), minutes.clone(), save.run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let number = |s: &str| s.trim().parse::<u32>().ok();
            run.emit(UserLimits {
                daily_quota: number(&quota),
                max_duration_minutes: number(&minutes),
            });
        })
    };
    html! {
        <form class="row wrap" data-testid="limits-form" {onsubmit}>
            <label for={format!("quota-{id}")}>{ "Tasks per day" }</label>
            <input id={format!("quota-{id}")} data-testid="limits-quota" type="number" min="0"
                   placeholder="default" value={(*quota).clone()} oninput={bind(&quota)} />
            <label for={format!("minutes-{id}")}>{ "Longest run (minutes)" }</label>
            <input id={format!("minutes-{id}")} data-testid="limits-minutes" type="number" min="1"
                   placeholder="default" value={(*minutes).clone()} oninput={bind(&minutes)} />
            <button class="btn small primary" type="submit" data-testid="limits-save" disabled={save.busy}>{ "Save" }</button>
            { maybe_error(&save.error) }
            { async_content(&current.state, |_| Html::default()) }
        </form>
    }
}

#[component]
fn Invites() -> Html {
    let list = use_fetch((), |()| api::admin_invites());
    let as_admin = use_state(|| false);
    let created = use_state(|| None::<CreatedInvite>);
    let create = {
        let (created, reload) = (created.clone(), list.reload.clone());
        use_action(move |body: CreateInvite| {
            let (created, reload) = (created.clone(), reload.clone());
            async move {
                created.set(Some(api::admin_create_invite(&body).await?));
                reload.emit(());
                Ok(())
            }
        })
    };
    let revoke = {
        let reload = list.reload.clone();
        use_action(move |id: Uuid| {
            let reload = reload.clone();
            async move {
                let result = api::admin_revoke_invite(id).await;
                reload.emit(());
                result
            }
        })
    };
    let onsubmit = {
        let (as_admin, run) = (as_admin.clone(), create.run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(CreateInvite { is_admin: *as_admin });
        })
    };
    let now = now_ms();
    html! {
        <div class="card" data-testid="admin-invites">
            <h2>{ "Invitations" }</h2>
            <p class="muted">{ "An invitation link lets one person make an account — with a password, or by signing in with a provider — even while registration is closed. It works once." }</p>
            <form class="row wrap" data-testid="invite-form" {onsubmit}>
                <label class="row"><input type="checkbox" data-testid="invite-admin" checked={*as_admin} onchange={bind_check(&as_admin)} />{ "as an administrator" }</label>
                <button class="btn primary" type="submit" data-testid="invite-create" disabled={create.busy}>{ "Create invitation link" }</button>
            </form>
            { maybe_error(&create.error) }
            { maybe_error(&revoke.error) }
            if let Some(c) = &*created {
                <div class="secret-once" data-testid="invite-link-box">
                    <p><strong>{ "Invitation created." }</strong>{ " Send this link to the person; it will not be shown again." }</p>
                    <div class="row">
                        <code data-testid="invite-link">{ &c.url }</code>
                        <button class="btn small" onclick={let u = c.url.clone(); move |_| copy_text(&u)}>{ "Copy" }</button>
                        <button class="btn small" onclick={let c = created.clone(); move |_| c.set(None)}>{ "Done" }</button>
                    </div>
                </div>
            }
            { async_content(&list.state, |invites: &Vec<shared::admin::Invite>| html! {
                <table class="list" data-testid="invite-list">
                    <thead><tr><th>{ "Created" }</th><th>{ "Role" }</th><th>{ "Status" }</th><th /></tr></thead>
                    <tbody>
                    if invites.is_empty() { <tr><td colspan="4" class="muted">{ "No invitations." }</td></tr> }
                    { for invites.iter().map(|i| {
                        // Float to int: the clock is far inside i64 range.
                        #[allow(clippy::cast_possible_truncation)]
                        let expired = i.expires_at.timestamp_millis() <= now as i64;
                        let status = match (i.used_at, expired) {
                            (Some(at), _) => format!("used {}", relative_time(at, now)),
                            (None, true) => "expired".to_owned(),
                            (None, false) => format!("open, {}", expires_in(i.expires_at, now)),
                        };
                        let (id, run) = (i.id, revoke.run.clone());
                        html! {
                            <tr key={i.id.to_string()} data-testid="invite-row">
                                <td>{ relative_time(i.created_at, now) }</td>
                                <td>{ if i.is_admin { "administrator" } else { "user" } }</td>
                                <td>{ status }</td>
                                <td>
                                    if i.used_at.is_none() {
                                        <button class="btn small danger-text" onclick={move |_| run.emit(id)}>{ "Withdraw" }</button>
                                    }
                                </td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            }) }
        </div>
    }
}

/// "expires in 3h" / "expires in 2d".
fn expires_in(at: chrono::DateTime<chrono::Utc>, now_ms: f64) -> String {
    // Float to int: the clock is far inside i64 range.
    #[allow(clippy::cast_possible_truncation)]
    let secs = (at.timestamp_millis() - now_ms as i64) / 1000;
    match secs {
        s if s < 3600 => format!("expires in {}m", (s / 60).max(1)),
        s if s < 86_400 => format!("expires in {}h", s / 3600),
        s => format!("expires in {}d", s / 86_400),
    }
}
