//! Branch names for tasks: `drydock/<slug>-<suffix>`.

/// Longest slug kept from a title; branch names stay readable in lists and URLs.
const MAX_SLUG: usize = 40;

/// A branch name from a task title with a random six-character suffix, e.g.
/// `drydock/fix-login-bug-a1b2c3`.
pub fn branch_name(title: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    branch_name_with_suffix(title, &random[..6])
}

/// The pure part of [`branch_name`]: `drydock/<slug of title>-<suffix>`.
///
/// The slug keeps ASCII letters and digits, lowercased; every other run of characters becomes
/// one `-`. It is cut at 40 characters on a word boundary when possible, and is `task`
/// when nothing is left. The result is always a valid git ref name.
pub fn branch_name_with_suffix(title: &str, suffix: &str) -> String {
    let slug = slug(title);
    let suffix: String = suffix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if suffix.is_empty() {
        format!("drydock/{slug}")
    } else {
        format!("drydock/{slug}-{suffix}")
    }
}

fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > MAX_SLUG {
        let cut = &slug[..MAX_SLUG];
        // Prefer ending on a whole word, unless that would leave too little.
        slug = match cut.rfind('-') {
            Some(i) if i >= MAX_SLUG / 2 => cut[..i].to_string(),
            _ => cut.to_string(),
        };
    }
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "task".to_string()
    } else {
        slug.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_slug_with_suffix() {
        assert_eq!(
            branch_name_with_suffix("Fix the login bug!", "A1B2C3"),
            "drydock/fix-the-login-bug-a1b2c3"
        );
        assert_eq!(
            branch_name_with_suffix("  --Ünïcode & spaces__ ", "x1"),
            "drydock/n-code-spaces-x1"
        );
    }

    #[test]
    fn empty_or_symbol_titles_become_task() {
        assert_eq!(branch_name_with_suffix("", "abc"), "drydock/task-abc");
        assert_eq!(branch_name_with_suffix("!!! ???", "abc"), "drydock/task-abc");
        assert_eq!(branch_name_with_suffix("..lock", "abc"), "drydock/lock-abc");
    }

    #[test]
    fn long_titles_are_cut_on_a_word() {
        let name = branch_name_with_suffix(
            "Refactor the authentication middleware so that sessions expire correctly",
            "abcdef",
        );
        assert_eq!(name, "drydock/refactor-the-authentication-middleware-abcdef");
        assert!(name.len() <= "drydock/".len() + MAX_SLUG + 7);
    }

    #[test]
    fn random_suffixes_differ() {
        let a = branch_name("Same title");
        let b = branch_name("Same title");
        assert_ne!(a, b);
        assert!(a.starts_with("drydock/same-title-") && a.len() == "drydock/same-title-".len() + 6);
    }
}
