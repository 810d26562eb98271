//! How the timeline folds a task's log so that it reads like a conversation: each run's events
//! under the stage they happened in (cloning, installing, the agent working, ...), and each tool
//! call paired with its result into one card. Pure, so it is tested without a browser.

use chrono::{DateTime, Utc};
use shared::events::{EventBody, TaskEvent};
use shared::tasks::TaskStage;

use super::{command_started, is_error};

/// One stage of one run and what was recorded while it lasted.
#[derive(Debug)]
pub struct StageGroup<'a> {
    /// The run the group belongs to (`None` on events stored before runs were recorded).
    pub run: Option<i32>,
    /// The stage event that opened the group; `None` for what a run recorded before its first
    /// stage (the task's first status, say), which is shown unfolded.
    pub opened_by: Option<&'a TaskEvent>,
    /// The events the filter shows, in order, tool calls carrying their results.
    pub items: Vec<Item<'a>>,
    /// Commands that ran to an end in this stage (whether shown or not).
    pub commands: usize,
    /// Whether anything in this stage failed (whether shown or not).
    pub failed: bool,
    /// When the next group began; `None` for the last group, which may still be going.
    pub ended_at: Option<DateTime<Utc>>,
}

impl StageGroup<'_> {
    /// The stage that opened the group.
    pub fn stage(&self) -> Option<TaskStage> {
        match self.opened_by.map(|e| &e.body) {
            Some(EventBody::Stage { stage }) => Some(*stage),
            _ => None,
        }
    }

    /// How long the stage lasted, once it is over.
    pub fn duration_ms(&self) -> Option<i64> {
        let start = self.opened_by?.at;
        Some((self.ended_at? - start).num_milliseconds().max(0))
    }
}

/// One row of a group.
#[derive(Debug)]
pub enum Item<'a> {
    /// An event shown on its own.
    Event(&'a TaskEvent),
    /// A tool call and, once it came, its result.
    Tool { call: &'a TaskEvent, result: Option<&'a TaskEvent> },
}

/// Folds `events` (in log order) into stage groups. `shown` is the filter: grouping and the
/// counts use every event, so a filter never moves an event to another stage; a group is kept
/// when it shows anything, or when the filter shows its stage event.
pub fn fold<'a>(
    events: &'a [TaskEvent],
    shown: impl Fn(&TaskEvent) -> bool,
) -> Vec<StageGroup<'a>> {
    let mut groups: Vec<StageGroup<'a>> = Vec::new();
    let mut stage_shown: Vec<bool> = Vec::new();
    for e in events {
        let is_stage = matches!(e.body, EventBody::Stage { .. });
        let new_run = groups.last().is_some_and(|g| e.run.is_some() && e.run != g.run);
        if groups.is_empty() || is_stage || new_run {
            if let Some(prev) = groups.last_mut() {
                prev.ended_at = Some(e.at);
            }
            groups.push(StageGroup {
                run: e.run,
                opened_by: is_stage.then_some(e),
                items: Vec::new(),
                commands: 0,
                failed: false,
                ended_at: None,
            });
            stage_shown.push(is_stage && shown(e));
            if is_stage {
                continue;
            }
        }
        let Some(group) = groups.last_mut() else { continue };
        if let EventBody::Command { exit_code, duration_ms, .. } = &e.body {
            group.commands += usize::from(!command_started(*exit_code, *duration_ms));
        }
        group.failed |= is_error(&e.body);
        if shown(e) {
            push_item(&mut group.items, e);
        }
    }
    let mut keep = stage_shown.into_iter();
    groups.retain(|g| keep.next().unwrap_or(false) || !g.items.is_empty());
    groups
}

/// Adds `e` to a group's rows: a tool result joins the latest call it answers (by the agent's
/// call id, or the latest unanswered call when neither carries one).
fn push_item<'a>(items: &mut Vec<Item<'a>>, e: &'a TaskEvent) {
    if let EventBody::ToolResult { call_id, .. } = &e.body {
        let answers = |call: &TaskEvent| match &call.body {
            EventBody::ToolCall { call_id: c, .. } => c == call_id,
            _ => false,
        };
        let open = items.iter_mut().rev().find_map(|item| match item {
            Item::Tool { call, result } if result.is_none() && answers(call) => Some(result),
            _ => None,
        });
        if let Some(slot) = open {
            *slot = Some(e);
            return;
        }
    }
    items.push(match e.body {
        EventBody::ToolCall { .. } => Item::Tool { call: e, result: None },
        _ => Item::Event(e),
    });
}

/// Whether a group starts unfolded: the one still going (the last), the agent's work (the
/// conversation itself) and any stage where something failed. The others fold to one line.
pub fn starts_open(group: &StageGroup<'_>, is_last: bool) -> bool {
    is_last || group.failed || group.stage() == Some(TaskStage::RunningAgent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[(i64, i32, &str)]) -> Vec<TaskEvent> {
        lines
            .iter()
            .map(|(seq, run, body)| {
                let json = format!(
                    r#"{{"seq":{seq},"at":"2026-01-01T00:00:{seq:02}Z","run":{run},{body}}}"#
                );
                serde_json::from_str(&json).unwrap()
            })
            .collect()
    }

    const STAGE_CLONE: &str = r#""kind":"stage","payload":{"stage":"cloning"}"#;
    const STAGE_AGENT: &str = r#""kind":"stage","payload":{"stage":"running_agent"}"#;
    const GIT_OK: &str =
        r#""kind":"command","payload":{"argv":["git","clone"],"exit_code":0,"duration_ms":5}"#;
    const STATUS: &str = r#""kind":"status","payload":{"status":"processing"}"#;
    const SAY: &str = r#""kind":"agent_message","payload":{"text":"hi"}"#;

    fn seqs(g: &StageGroup<'_>) -> Vec<i64> {
        g.items
            .iter()
            .flat_map(|i| match i {
                Item::Event(e) => vec![e.seq],
                Item::Tool { call, result } => {
                    std::iter::once(call.seq).chain(result.map(|r| r.seq)).collect()
                }
            })
            .collect()
    }

    #[test]
    fn events_fold_under_the_stage_they_happened_in_and_runs_split_groups() {
        let events = log(&[
            (1, 1, STATUS),
            (2, 1, STAGE_CLONE),
            (3, 1, GIT_OK),
            (4, 1, GIT_OK),
            (5, 1, STAGE_AGENT),
            (6, 1, SAY),
            (7, 2, SAY),
        ]);
        let groups = fold(&events, |_| true);
        let shape: Vec<_> =
            groups.iter().map(|g| (g.run, g.stage(), seqs(g), g.commands)).collect();
        assert_eq!(
            shape,
            vec![
                (Some(1), None, vec![1], 0),
                (Some(1), Some(TaskStage::Cloning), vec![3, 4], 2),
                (Some(1), Some(TaskStage::RunningAgent), vec![6], 0),
                (Some(2), None, vec![7], 0),
            ]
        );
        // A stage lasts until the next group begins; the last one is still open-ended.
        assert_eq!(groups[1].duration_ms(), Some(3_000));
        assert_eq!(groups[3].duration_ms(), None);
        assert!(!starts_open(&groups[1], false), "a finished clone folds");
        assert!(starts_open(&groups[2], false), "the agent's conversation stays open");
        assert!(starts_open(&groups[3], true), "the stage still going stays open");
    }

    #[test]
    fn a_tool_result_joins_its_call_by_id_and_a_failure_keeps_its_stage_open() {
        let events = log(&[
            (1, 1, STAGE_AGENT),
            (2, 1, r#""kind":"tool_call","payload":{"tool":"Bash","summary":"ls","call_id":"a"}"#),
            (3, 1, r#""kind":"tool_call","payload":{"tool":"Read","summary":"x","call_id":"b"}"#),
            (4, 1, r#""kind":"tool_result","payload":{"call_id":"a","ok":false,"output":"no"}"#),
            (5, 1, r#""kind":"tool_result","payload":{"call_id":"b","ok":true}"#),
            (6, 1, STAGE_CLONE),
            (7, 1, r#""kind":"command","payload":{"argv":["git"],"exit_code":1,"duration_ms":3}"#),
        ]);
        let groups = fold(&events, |_| true);
        let pairs: Vec<_> = groups[0]
            .items
            .iter()
            .map(|i| match i {
                Item::Tool { call, result } => (call.seq, result.map(|r| r.seq)),
                Item::Event(e) => (e.seq, None),
            })
            .collect();
        assert_eq!(pairs, vec![(2, Some(4)), (3, Some(5))]);
        assert!(groups[0].failed);
        assert!(groups[1].failed && starts_open(&groups[1], false), "a failed stage stays open");
    }

    #[test]
    fn a_filter_hides_rows_but_never_moves_them_or_the_counts() {
        let events = log(&[(1, 1, STAGE_CLONE), (2, 1, GIT_OK), (3, 1, STAGE_AGENT), (4, 1, SAY)]);
        let messages = fold(&events, |e| matches!(e.body, EventBody::AgentMessage { .. }));
        assert_eq!(messages.len(), 1, "the clone stage shows nothing and is left out");
        assert_eq!(messages[0].stage(), Some(TaskStage::RunningAgent));
        let progress = fold(&events, |e| matches!(e.body, EventBody::Stage { .. }));
        assert_eq!(progress.len(), 2, "a shown stage event keeps its group, empty or not");
        assert_eq!(progress[0].commands, 1, "counts include hidden rows");
    }
}
