//! The diff viewer. The server computes the diff (`GET /tasks/{id}/diff` sends a unified patch
//! with three lines of context); this only splits the patch into rows and numbers them from the
//! hunk headers, so the browser ships no diff algorithm.

use shared::changes::FileDiff;
use yew::prelude::*;

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

/// A unified diff table.
#[component]
pub fn DiffView(props: &DiffViewProps) -> Html {
    let d = &props.diff;
    if d.binary {
        return html! { <p class="muted" data-testid="diff-binary">{ "Binary file not shown." }</p> };
    }
    let lines = d.patch.as_deref().map(patch_lines).unwrap_or_default();
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
