//! Icons: Lucide's (ISC), drawn from the sprite `/icons.svg` that `tools/icon-sprite.mjs`
//! builds at web build time with only the icons named here, so the wasm bundle carries a name
//! per icon and no path data. Each takes the text's colour and size (`.icon` in the CSS) and is
//! hidden from assistive technology: the control it sits in carries the words.

use yew::prelude::*;

/// An icon of the sprite. Adding one: name it here and in `tools/icon-sprite.mjs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconName {
    Plus,
    List,
    Settings,
    Menu,
    Close,
    Keyboard,
    Server,
    Timeline,
    Chat,
    Changes,
    PullRequest,
    Terminal,
    Preview,
    Editor,
    Repository,
    History,
}

impl IconName {
    /// Every icon, as the sprite script lists them.
    pub const ALL: [Self; 16] = [
        Self::Plus,
        Self::List,
        Self::Settings,
        Self::Menu,
        Self::Close,
        Self::Keyboard,
        Self::Server,
        Self::Timeline,
        Self::Chat,
        Self::Changes,
        Self::PullRequest,
        Self::Terminal,
        Self::Preview,
        Self::Editor,
        Self::Repository,
        Self::History,
    ];

    /// Its symbol's id in the sprite (the Lucide name).
    pub fn id(self) -> &'static str {
        match self {
            Self::Plus => "plus",
            Self::List => "list",
            Self::Settings => "settings",
            Self::Menu => "menu",
            Self::Close => "x",
            Self::Keyboard => "keyboard",
            Self::Server => "server",
            Self::Timeline => "list-tree",
            Self::Chat => "message-square",
            Self::Changes => "git-compare",
            Self::PullRequest => "git-pull-request",
            Self::Terminal => "square-terminal",
            Self::Preview => "monitor",
            Self::Editor => "file-code",
            Self::Repository => "folder-git-2",
            Self::History => "history",
        }
    }
}

/// Props of [`Icon`].
#[derive(Properties, PartialEq)]
pub struct IconProps {
    /// Which icon.
    pub name: IconName,
}

/// One icon, inline with the text around it.
#[component]
pub fn Icon(props: &IconProps) -> Html {
    let href = format!("/icons.svg#{}", props.name.id());
    html! {
        <svg class="icon" aria-hidden="true" focusable="false" data-icon={props.name.id()}>
            <use {href} />
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_icon_is_in_the_sprite_script() {
        let script = include_str!("../../tools/icon-sprite.mjs");
        let listed = script.split("const ICONS = [").nth(1).and_then(|s| s.split("];").next());
        let listed: Vec<&str> = listed
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .filter(|s| !s.is_empty())
            .collect();
        let ours: Vec<&str> = IconName::ALL.iter().map(|i| i.id()).collect();
        assert_eq!(listed, ours, "the sprite script and IconName list the same icons, in order");
    }
}
