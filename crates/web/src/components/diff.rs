//! The diff viewer: a unified, line-based view computed with `similar` (or taken from a patch the
//! API sends).

use similar::{ChangeTag, TextDiff};
use yew::prelude::*;

use crate::types::changes::FileDiff;

/// One line of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// `+`, `-`, ` ` or `@` (hunk header).
    pub tag: char,
    /// Line number in the old file.
    pub old_no: Option<usize>,
    /// Line number in the new file.
    pub new_no: Option<usize>,
    /// The text, without its newline.
    pub text: String,
}

/// Unified diff of two texts with `context` lines around each change.
pub fn diff_lines(old: &str, new: &str, context: usize) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for group in diff.grouped_ops(context) {
        if let (Some(first), Some(last)) = (group.first(), group.last()) {
            let o = first.old_range().start;
            let n = first.new_range().start;
            let header = format!(
                "@@ -{},{} +{},{} @@",
                o + 1,
                last.old_range().end - o,
                n + 1,
                last.new_range().end - n
            );
            out.push(DiffLine { tag: '@', old_no: None, new_no: None, text: header });
        }
        for op in &group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                out.push(DiffLine {
                    tag,
                    old_no: change.old_index().map(|i| i + 1),
                    new_no: change.new_index().map(|i| i + 1),
                    text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
                });
            }
        }
    }
    out
}

/// Lines of a unified patch as sent by the API (numbers left blank).
pub fn patch_lines(patch: &str) -> Vec<DiffLine> {
    patch
        .lines()
        .filter(|l| {
            !l.starts_with("diff ")
                && !l.starts_with("index ")
                && !l.starts_with("--- ")
                && !l.starts_with("+++ ")
        })
        .map(|l| {
            let tag = match l.chars().next() {
                Some('+') => '+',
                Some('-') => '-',
                Some('@') => '@',
                _ => ' ',
            };
            let text =
                if tag == '@' { l.to_owned() } else { l.get(1..).unwrap_or_default().to_owned() };
            DiffLine { tag, old_no: None, new_no: None, text }
        })
        .collect()
}

/// Props of [`DiffView`].
#[derive(Properties, PartialEq)]
pub struct DiffViewProps {
    /// The file's diff.
    pub diff: FileDiff,
}

/// A unified diff table.
#[component]
pub fn DiffView(props: &DiffViewProps) -> Html {
    let d = &props.diff;
    if d.binary {
        return html! { <p class="muted" data-testid="diff-binary">{ "Binary file not shown." }</p> };
    }
    let lines = match &d.patch {
        Some(p) if d.old.is_none() && d.new.is_none() => patch_lines(p),
        _ => diff_lines(d.old.as_deref().unwrap_or(""), d.new.as_deref().unwrap_or(""), 3),
    };
    if lines.is_empty() {
        return html! { <p class="muted" data-testid="diff-empty">{ "No textual changes." }</p> };
    }
    let num = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    html! {
        <table class="diff" data-testid="diff-view">
            <tbody>
            { for lines.iter().map(|l| {
                let class = match l.tag { '+' => "add", '-' => "del", '@' => "hunk", _ => "ctx" };
                html! {
                    <tr class={class}>
                        <td class="ln">{ num(l.old_no) }</td>
                        <td class="ln">{ num(l.new_no) }</td>
                        <td class="code"><span class="sign">{ if l.tag == '@' { ' ' } else { l.tag } }</span>{ &l.text }</td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changes_with_numbers() {
        let lines = diff_lines("a\nb\nc\n", "a\nB\nc\nd\n", 1);
        assert_eq!(lines[0].tag, '@');
        let tags: String = lines.iter().skip(1).map(|l| l.tag).collect();
        assert_eq!(tags, " -+ +");
        let added = lines.iter().find(|l| l.text == "B").unwrap();
        assert_eq!((added.old_no, added.new_no), (None, Some(2)));
    }

    #[test]
    fn identical_texts_have_no_lines() {
        assert!(diff_lines("x\n", "x\n", 3).is_empty());
    }

    #[test]
    fn patches_are_split_into_tagged_lines() {
        let lines = patch_lines("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same");
        let tags: String = lines.iter().map(|l| l.tag).collect();
        assert_eq!(tags, "@-+ ");
        assert_eq!(lines[1].text, "old");
    }
}
