//! Light / dark / system theme: stored in `localStorage`, applied as `data-theme` on `<html>`
//! (the stylesheet resolves `system` with `prefers-color-scheme`).

use crate::services::storage;

/// `localStorage` key of the theme.
pub const STORAGE_KEY: &str = "drydock-theme";

/// A theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Always light.
    Light,
    /// Always dark.
    Dark,
    /// Follow the operating system.
    #[default]
    System,
}

impl Theme {
    /// All choices, in menu order.
    pub const ALL: [Self; 3] = [Self::Light, Self::Dark, Self::System];

    /// The stored and attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
            Self::System => "system",
        }
    }

    /// Menu label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Light => "Light",
            Self::Dark => "Dark",
            Self::System => "System",
        }
    }

    /// Parses a stored value; anything unknown is `System`.
    pub fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|t| t.as_str() == s).unwrap_or_default()
    }

    /// The stored theme.
    pub fn load() -> Self {
        storage::get(STORAGE_KEY).map(|s| Self::parse(&s)).unwrap_or_default()
    }

    /// Stores and applies the theme.
    pub fn save(self) {
        storage::set(STORAGE_KEY, self.as_str());
        self.apply();
    }

    /// Sets `data-theme` on `<html>`.
    pub fn apply(self) {
        let root = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
        if let Some(root) = root {
            let _ = root.set_attribute("data-theme", self.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_defaults_to_system() {
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), t);
        }
        assert_eq!(Theme::parse("sepia"), Theme::System);
    }
}
