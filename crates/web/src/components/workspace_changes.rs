//! The Changes tab: the pushed branch's changes (Remote), or the live sandbox's uncommitted
//! ones (Sandbox) against HEAD or the base branch, with Sync (commit the manual edits and
//! push) and Reset (back to the pushed branch, after a confirmation, undoable).

use shared::workspace::Against;
use uuid::Uuid;
use yew::prelude::*;

use crate::components::changes::Changes;
use crate::hooks::use_action;
use crate::services::workspace;

/// Props of [`ChangesTab`].
#[derive(Properties, PartialEq)]
pub struct ChangesTabProps {
    /// The task.
    pub task_id: Uuid,
    /// Changes whenever the files may have changed (a run ended).
    pub refresh: usize,
}

/// Remote / Sandbox, and the sandbox's actions.
#[component]
pub fn ChangesTab(props: &ChangesTabProps) -> Html {
    let id = props.task_id;
    let live = use_state(|| false);
    let against = use_state(|| Against::Head);
    // Bumped after a sync, reset or undo, so the lists load again.
    let bump = use_state(|| 0usize);
    let message = use_state(String::new);
    let confirming = use_state(|| false);
    let note = use_state(|| None::<String>);
    let undo = use_state(|| None::<String>);

    let sync = {
        let (message, note, bump) = (message.clone(), note.clone(), bump.clone());
        use_action(move |typed: String| {
            let (message, note, bump) = (message.clone(), note.clone(), bump.clone());
            async move {
                let typed = Some(typed).filter(|t| !t.trim().is_empty());
                let done = workspace::sync(id, typed).await?;
                message.set(String::new());
                note.set(Some(format!(
                    "Committed {} and pushed: {}",
                    &done.commit[..done.commit.len().min(12)],
                    done.message
                )));
                bump.set(*bump + 1);
                Ok(())
            }
        })
    };
    let reset = {
        let (note, bump, undo, confirming) =
            (note.clone(), bump.clone(), undo.clone(), confirming.clone());
        use_action(move |_: ()| {
            let (note, bump, undo, confirming) =
                (note.clone(), bump.clone(), undo.clone(), confirming.clone());
            async move {
                let done = workspace::reset(id).await?;
                confirming.set(false);
                note.set(Some(format!(
                    "Reset to the pushed branch; checkpoint {} keeps what was there.",
                    done.checkpoint.name
                )));
                undo.set(Some(done.checkpoint.name));
                bump.set(*bump + 1);
                Ok(())
            }
        })
    };
    let restore = {
        let (note, bump, undo) = (note.clone(), bump.clone(), undo.clone());
        use_action(move |name: String| {
            let (note, bump, undo) = (note.clone(), bump.clone(), undo.clone());
            async move {
                workspace::restore(id, &name).await?;
                note.set(Some(format!("Checkpoint {name} restored: the reset is undone.")));
                undo.set(None);
                bump.set(*bump + 1);
                Ok(())
            }
        })
    };

    let pick = |value: bool, label: &'static str, testid: &'static str| {
        let live = live.clone();
        html! {
            <button class={classes!("tab", (*live == value).then_some("active"))} data-testid={testid}
                    aria-pressed={(*live == value).to_string()} onclick={move |_| live.set(value)}>{ label }</button>
        }
    };
    let pick_against = |value: Against, label: &'static str, testid: &'static str| {
        let against = against.clone();
        html! {
            <button class={classes!("small", (*against == value).then_some("active"))} data-testid={testid}
                    aria-pressed={(*against == value).to_string()} onclick={move |_| against.set(value)}>{ label }</button>
        }
    };
    let error = [&sync.error, &reset.error, &restore.error]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.message());
    let refresh = props.refresh + *bump;
    html! {
        <div class="changes-tab" data-testid="changes-tab" data-view={if *live { "sandbox" } else { "remote" }}>
            <div class="row wrap">
                <nav class="tabs small" role="group" aria-label="Which changes">
                    { pick(false, "Remote", "changes-remote") }
                    { pick(true, "Sandbox", "changes-sandbox") }
                </nav>
                if *live {
                    <>
                    { pick_against(Against::Head, "vs HEAD", "changes-vs-head") }
                    { pick_against(Against::Base, "vs base", "changes-vs-base") }
                    </>
                }
            </div>
            if *live {
                <form class="row wrap workspace-actions" onsubmit={
                    let (run, message) = (sync.run.clone(), message.clone());
                    Callback::from(move |e: SubmitEvent| { e.prevent_default(); run.emit((*message).clone()); })
                }>
                    <input data-testid="sync-message" placeholder="Commit message (empty: generated)" value={(*message).clone()}
                           oninput={
                               let message = message.clone();
                               Callback::from(move |e: InputEvent| message.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
                           } />
                    <button type="submit" class="btn primary" data-testid="sync" disabled={sync.busy}>
                        { if sync.busy { "Syncing…" } else { "Sync (commit and push)" } }
                    </button>
                    if *confirming {
                        <>
                        <span>{ "Throw away every change not pushed? A checkpoint keeps them." }</span>
                        <button type="button" class="btn danger" data-testid="reset-confirm" disabled={reset.busy}
                                onclick={let run = reset.run.clone(); move |_| run.emit(())}>{ "Reset" }</button>
                        <button type="button" onclick={let c = confirming.clone(); move |_| c.set(false)}>{ "Cancel" }</button>
                        </>
                    } else {
                        <button type="button" data-testid="reset" onclick={let c = confirming.clone(); move |_| c.set(true)}>
                            { "Reset to pushed branch…" }
                        </button>
                    }
                    if let Some(name) = (*undo).clone() {
                        <button type="button" data-testid="reset-undo" disabled={restore.busy}
                                onclick={let run = restore.run.clone(); move |_| run.emit(name.clone())}>{ "Undo reset" }</button>
                    }
                </form>
            }
            if let Some(text) = (*note).clone() {
                <p class="muted" data-testid="workspace-note">{ text }</p>
            }
            if let Some(text) = error {
                <p class="error-box" data-testid="workspace-error">{ text }</p>
            }
            <Changes task_id={id} {refresh} live={(*live).then_some(*against)} />
        </div>
    }
}
