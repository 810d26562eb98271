//! Settings: API tokens, provider keys, git hosts, MCP connectors and connected accounts, one
//! section per tab.

mod accounts;
mod connectors;
mod git_hosts;
mod keys;
mod tokens;

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;

/// Props of [`Settings`].
#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    /// `tokens`, `keys`, `git-hosts`, `connectors` or `accounts`.
    pub section: AttrValue,
}

const SECTIONS: [(&str, &str); 5] = [
    ("tokens", "API tokens"),
    ("keys", "API keys"),
    ("git-hosts", "Git hosts"),
    ("connectors", "MCP connectors"),
    ("accounts", "Accounts"),
];

/// The settings page.
#[component]
pub fn Settings(props: &SettingsProps) -> Html {
    let section = props.section.as_str();
    html! {
        <section class="page settings" data-testid="settings">
            <h1>{ "Settings" }</h1>
            <nav class="tabs">
                { for SECTIONS.iter().map(|(key, label)| html! {
                    <Link<Route> to={Route::SettingsSection { section: (*key).to_owned() }}
                                 classes={classes!("tab", (section == *key).then_some("active"))}>
                        <span data-testid={format!("settings-tab-{key}")}>{ *label }</span>
                    </Link<Route>>
                }) }
            </nav>
            { match section {
                "keys" => html! { <keys::Keys /> },
                "git-hosts" => html! { <git_hosts::GitHosts /> },
                "connectors" => html! { <connectors::Connectors /> },
                "accounts" => html! { <accounts::Accounts /> },
                _ => html! { <tokens::Tokens /> },
            } }
        </section>
    }
}
