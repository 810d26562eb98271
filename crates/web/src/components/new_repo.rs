//! "New repository" under the GitHub picker: creates one for the user or one of their
//! organisations (empty with a README, or generated from a template `owner/name`) and picks it.

use shared::github::{CreateRepo, GithubOwner, OwnerKind};
use yew::prelude::*;

use crate::components::async_content::maybe_error;
use crate::components::forms::{bind, bind_check, bind_select};
use crate::hooks::use_action;
use crate::services::api;

/// Props of [`NewRepo`].
#[derive(Properties, PartialEq)]
pub struct NewRepoProps {
    /// Who a repository can be created for (the picker's owners).
    pub owners: Vec<GithubOwner>,
    /// The owner the picker shows now: the form's default.
    pub owner: AttrValue,
    /// Called with the new repository's `repo_url`.
    pub on_created: Callback<String>,
}

/// The toggle and its form.
#[component]
pub fn NewRepo(props: &NewRepoProps) -> Html {
    let open = use_state(|| false);
    let name = use_state(String::new);
    let owner = use_state(|| props.owner.to_string());
    let description = use_state(String::new);
    let template = use_state(String::new);
    let private = use_state(|| true);
    let create = {
        let (open, on_created) = (open.clone(), props.on_created.clone());
        let owners = props.owners.clone();
        let fields =
            (name.clone(), owner.clone(), description.clone(), template.clone(), private.clone());
        use_action(move |()| {
            let (name, owner, description, template, private) = fields.clone();
            let is_org =
                owners.iter().any(|o| o.login == *owner && o.kind == OwnerKind::Organization);
            let body = CreateRepo {
                name: name.trim().to_owned(),
                owner: is_org.then(|| (*owner).clone()),
                description: Some(description.trim().to_owned()).filter(|d| !d.is_empty()),
                private: *private,
                template: Some(template.trim().to_owned()).filter(|t| !t.is_empty()),
            };
            let (open, on_created) = (open.clone(), on_created.clone());
            async move {
                let repo = api::create_github_repo(&body).await?;
                open.set(false);
                on_created.emit(repo.repo_url);
                Ok(())
            }
        })
    };
    if !*open {
        let open = open.clone();
        return html! {
            <button type="button" class="btn small" data-testid="new-repo"
                    onclick={move |_: MouseEvent| open.set(true)}>{ "New repository" }</button>
        };
    }
    let onsubmit = {
        let run = create.run.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(());
        })
    };
    let cancel = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(false))
    };
    html! {
        <form class="card stack new-repo" data-testid="new-repo-form" {onsubmit}>
            <div class="row wrap">
                <label for="new-repo-owner">{ "Owner" }</label>
                <select id="new-repo-owner" data-testid="new-repo-owner" onchange={bind_select(&owner)}>
                    { for props.owners.iter().map(|o| html! {
                        <option value={o.login.clone()} selected={o.login == *owner}>{ &o.login }</option>
                    }) }
                </select>
                <label for="new-repo-name">{ "Name" }</label>
                <input id="new-repo-name" data-testid="new-repo-name" required=true maxlength="100"
                       pattern="[A-Za-z0-9._\\-]+" value={(*name).clone()} oninput={bind(&name)} />
            </div>
            <label for="new-repo-description">{ "Description" }</label>
            <input id="new-repo-description" data-testid="new-repo-description"
                   value={(*description).clone()} oninput={bind(&description)} />
            <label for="new-repo-template">{ "From a template (owner/name, optional)" }</label>
            <input id="new-repo-template" data-testid="new-repo-template" placeholder="octo-org/starter"
                   value={(*template).clone()} oninput={bind(&template)} />
            <label class="row">
                <input type="checkbox" data-testid="new-repo-private" checked={*private} onchange={bind_check(&private)} />
                { "Private" }
            </label>
            <div class="row">
                <button type="submit" class="btn primary small" data-testid="new-repo-create" disabled={create.busy}>{ "Create and pick" }</button>
                <button type="button" class="btn small" onclick={cancel}>{ "Cancel" }</button>
            </div>
            { maybe_error(&create.error) }
        </form>
    }
}
