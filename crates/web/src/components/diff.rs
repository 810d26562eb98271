//! The diff viewer. The server computes the diff (`GET /tasks/{id}/diff` sends a unified patch
//! with three lines of context, and both versions of the file); the plain view only splits the
//! patch into rows and numbers them from the hunk headers, so the app's own code ships no diff
//! algorithm. The highlighted and side-by-side views are Monaco's diff editor, loaded the first
//! time one is chosen (as the Editor tab loads it): syntax highlighting by the file's
//! extension, and unchanged stretches folded to a line that expands on a click.

use js_sys::Object;
use shared::changes::FileDiff;
use wasm_bindgen::JsValue;
use yew::prelude::*;

use crate::components::editor::{mount_view, set_option};
use crate::services::storage;

/// How diffs are shown; the choice is remembered in this browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffMode {
    /// The unified patch as a table: instant, no script to load.
    Plain,
    /// Monaco's inline diff: highlighted, unchanged stretches folded.
    Highlighted,
    /// Monaco's two columns.
    SideBySide,
}

impl DiffMode {
    /// Every mode, in the switch's order.
    pub const ALL: [Self; 3] = [Self::Plain, Self::Highlighted, Self::SideBySide];
    const KEY: &'static str = "drydock-diff-view";

    /// The stored value and `data-mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Highlighted => "highlighted",
            Self::SideBySide => "side-by-side",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Plain => "Plain",
            Self::Highlighted => "Highlighted",
            Self::SideBySide => "Side by side",
        }
    }

    /// Reads a stored value; anything unknown is the plain view.
    pub fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|m| m.as_str() == s).unwrap_or(Self::Plain)
    }

    fn remembered() -> Self {
        storage::get(Self::KEY).map(|s| Self::parse(&s)).unwrap_or(Self::Plain)
    }
}

/// One row of a unified diff.
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

/// Where a hunk is: the next old and new line numbers and how many lines of each are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hunk {
    old: usize,
    new: usize,
    old_left: usize,
    new_left: usize,
}

impl Hunk {
    /// Parses `@@ -a,b +c,d @@` (a missing count means 1).
    fn parse(header: &str) -> Option<Self> {
        let mut parts = header.strip_prefix("@@")?.split_whitespace();
        let range = |part: Option<&str>, sign: char| -> Option<(usize, usize)> {
            let (start, count) = match part?.strip_prefix(sign)?.split_once(',') {
                Some((s, c)) => (s, c.parse().ok()?),
                None => (part?.get(1..)?, 1),
            };
            Some((start.parse().ok()?, count))
        };
        let (old, old_left) = range(parts.next(), '-')?;
        let (new, new_left) = range(parts.next(), '+')?;
        Some(Self { old, new, old_left, new_left })
    }

    fn open(&self) -> bool {
        self.old_left > 0 || self.new_left > 0
    }

    /// Numbers one body line and counts it off.
    fn take(&mut self, line: &str) -> DiffLine {
        let text = line.get(1..).unwrap_or_default().to_owned();
        let (tag, old_no, new_no) = match line.chars().next() {
            Some('+') => ('+', None, Some(self.new)),
            Some('-') => ('-', Some(self.old), None),
            _ => (' ', Some(self.old), Some(self.new)),
        };
        if old_no.is_some() {
            self.old += 1;
            self.old_left = self.old_left.saturating_sub(1);
        }
        if new_no.is_some() {
            self.new += 1;
            self.new_left = self.new_left.saturating_sub(1);
        }
        DiffLine { tag, old_no, new_no, text }
    }
}

/// The rows of a unified patch, numbered from their hunk headers. Hunks are read by their line
/// counts, so a removed line that reads `-- x` is not mistaken for a `---` file header; file
/// headers and "\ No newline at end of file" markers are dropped.
pub fn patch_lines(patch: &str) -> Vec<DiffLine> {
    let mut hunk: Option<Hunk> = None;
    let mut out = Vec::new();
    for l in patch.lines() {
        if l.starts_with('\\') {
            continue;
        }
        match &mut hunk {
            Some(h) if h.open() => out.push(h.take(l)),
            _ if l.starts_with("@@") => {
                hunk = Hunk::parse(l);
                if hunk.is_some() {
                    out.push(DiffLine { tag: '@', old_no: None, new_no: None, text: l.to_owned() });
                }
            }
            _ => {}
        }
    }
    out
}

/// Props of [`DiffView`].
#[derive(Properties, PartialEq)]
pub struct DiffViewProps {
    /// The file's diff.
    pub diff: FileDiff,
}

/// A file's diff, in the mode the user last chose.
#[component]
pub fn DiffView(props: &DiffViewProps) -> Html {
    let mode = use_state(DiffMode::remembered);
    let d = &props.diff;
    if d.binary {
        return html! { <p class="muted" data-testid="diff-binary">{ "Binary file not shown." }</p> };
    }
    let lines = d.patch.as_deref().map(patch_lines).unwrap_or_default();
    if lines.is_empty() {
        return html! { <p class="muted" data-testid="diff-empty">{ "No textual changes." }</p> };
    }
    let switch = DiffMode::ALL.iter().map(|&m| {
        let onclick = {
            let mode = mode.clone();
            Callback::from(move |_: MouseEvent| {
                storage::set(DiffMode::KEY, m.as_str());
                mode.set(m);
            })
        };
        html! {
            <button class={classes!("btn", "small", (*mode == m).then_some("active"))} aria-pressed={(*mode == m).to_string()}
                    data-testid="diff-mode" data-mode={m.as_str()} {onclick}>{ m.label() }</button>
        }
    });
    html! {
        <div class="diff-viewer" data-mode={mode.as_str()}>
            <div class="diff-modes" role="group" aria-label="Diff view">{ for switch }</div>
            if *mode == DiffMode::Plain {
                { plain_table(&lines) }
            } else {
                <MonacoDiff diff={d.clone()} side_by_side={*mode == DiffMode::SideBySide} />
            }
        </div>
    }
}

/// Props of [`MonacoDiff`].
#[derive(Properties, PartialEq)]
struct MonacoDiffProps {
    diff: FileDiff,
    side_by_side: bool,
}

/// Monaco's diff editor over both versions of the file.
#[component]
fn MonacoDiff(props: &MonacoDiffProps) -> Html {
    let host = use_node_ref();
    let error = use_state(|| None::<String>);
    {
        let (host, error) = (host.clone(), error.clone());
        let deps = (props.diff.clone(), props.side_by_side);
        use_effect_with(deps, move |(diff, side_by_side)| {
            let (diff, side_by_side) = (diff.clone(), *side_by_side);
            mount_view(host, error, "mountDiff", move || {
                let options = Object::new();
                let text = |t: &Option<String>| JsValue::from(t.clone().unwrap_or_default());
                set_option(&options, "path", &diff.path.clone().into())?;
                set_option(&options, "original", &text(&diff.old_content))?;
                set_option(&options, "modified", &text(&diff.new_content))?;
                set_option(&options, "sideBySide", &side_by_side.into())?;
                Ok((options, Vec::new()))
            })
        });
    }
    html! {
        <>
            if let Some(e) = &*error {
                <p class="error-box" data-testid="diff-editor-error">{ e }</p>
            }
            <div class="diff-editor-mount" ref={host} />
        </>
    }
}

/// The unified patch as a table.
fn plain_table(lines: &[DiffLine]) -> Html {
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
    fn rows_are_tagged_and_numbered_from_the_hunk_header() {
        let patch = "--- a/x\n+++ b/x\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n";
        let lines = patch_lines(patch);
        let tags: String = lines.iter().map(|l| l.tag).collect();
        assert_eq!(tags, "@ -+ +");
        let at = |t: &str| lines.iter().find(|l| l.text == t).map(|l| (l.old_no, l.new_no));
        assert_eq!(at("a"), Some((Some(1), Some(1))));
        assert_eq!(at("b"), Some((Some(2), None)));
        assert_eq!(at("B"), Some((None, Some(2))));
        assert_eq!(at("c"), Some((Some(3), Some(3))));
        assert_eq!(at("d"), Some((None, Some(4))));
    }

    #[test]
    fn later_hunks_restart_their_numbers_and_markers_are_dropped() {
        let patch =
            "@@ -1 +1 @@\n-x\n+y\n\\ No newline at end of file\n@@ -40,2 +40,2 @@\n k\n-o\n+n\n";
        let lines = patch_lines(patch);
        assert!(lines.iter().all(|l| !l.text.contains("No newline")));
        let k = lines.iter().find(|l| l.text == "k").unwrap();
        assert_eq!((k.old_no, k.new_no), (Some(40), Some(40)));
        let n = lines.iter().find(|l| l.text == "n").unwrap();
        assert_eq!(n.new_no, Some(41));
    }

    #[test]
    fn removed_lines_that_look_like_file_headers_stay() {
        let lines = patch_lines("--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n--- old\n keep\n");
        assert_eq!(lines[1].text, "-- old");
        assert_eq!((lines[1].tag, lines[2].new_no), ('-', Some(1)));
    }

    /// Every numbered row names the line it shows, in a diff made as the API makes it.
    #[test]
    fn rows_point_at_their_lines_in_a_server_made_diff() {
        let old: String = (1..=60)
            .map(|i| if i == 45 { "-- dashes\n".to_owned() } else { format!("line {i}\n") })
            .collect();
        let new = old
            .replace("line 3\n", "line three\n")
            .replace("line 30\n", "")
            .replace("-- dashes\n", "")
            .replace("line 58\n", "line 58\nline 58b\n");
        let patch = similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header("a/f.txt", "b/f.txt")
            .to_string();
        let (old_lines, new_lines): (Vec<&str>, Vec<&str>) =
            (old.lines().collect(), new.lines().collect());
        let rows = patch_lines(&patch);
        assert_eq!(rows.iter().filter(|r| r.tag == '@').count(), 4, "{patch}");
        for r in rows.iter().filter(|r| r.tag != '@') {
            if let Some(n) = r.old_no {
                assert_eq!(old_lines[n - 1], r.text, "{r:?}");
            }
            if let Some(n) = r.new_no {
                assert_eq!(new_lines[n - 1], r.text, "{r:?}");
            }
        }
        let tagged = |t: char| -> Vec<&str> {
            rows.iter().filter(|r| r.tag == t).map(|r| r.text.as_str()).collect()
        };
        assert_eq!(tagged('+'), ["line three", "line 58b"]);
        assert_eq!(tagged('-'), ["line 3", "line 30", "-- dashes"]);
    }

    #[test]
    fn an_added_file_counts_from_one() {
        let h = Hunk::parse("@@ -0,0 +1,2 @@");
        assert_eq!(h, Some(Hunk { old: 0, new: 1, old_left: 0, new_left: 2 }));
        assert_eq!(Hunk::parse("@@ -3 +4 @@").map(|h| (h.old_left, h.new_left)), Some((1, 1)));
        assert!(Hunk::parse("@@ nonsense @@").is_none());
        let lines = patch_lines("@@ -0,0 +1,2 @@\n+hi\n+there\n");
        assert_eq!(lines[2].new_no, Some(2));
        assert!(patch_lines("").is_empty());
    }
}
