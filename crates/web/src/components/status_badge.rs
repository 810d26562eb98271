//! The status badge: one colour per status, with the stage while a run is active.

use shared::tasks::{TaskStage, TaskStatus};
use yew::prelude::*;

/// Props of [`StatusBadge`].
#[derive(Properties, PartialEq)]
pub struct StatusBadgeProps {
    /// The status.
    pub status: TaskStatus,
    /// The stage, shown while processing.
    #[prop_or_default]
    pub stage: Option<TaskStage>,
    /// `data-testid`, so a page can tell its main badge from list badges.
    #[prop_or(AttrValue::Static("status-badge"))]
    pub testid: AttrValue,
}

/// Human label of a status.
pub fn status_label(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Pending => "Pending",
        TaskStatus::Processing => "Running",
        TaskStatus::Completed => "Completed",
        TaskStatus::Error => "Failed",
        TaskStatus::Stopped => "Stopped",
    }
}

/// Human label of a stage.
pub fn stage_label(s: TaskStage) -> &'static str {
    match s {
        TaskStage::Queued => "queued",
        TaskStage::Provisioning => "starting sandbox",
        TaskStage::Cloning => "cloning",
        TaskStage::Installing => "installing dependencies",
        TaskStage::RunningAgent => "agent working",
        TaskStage::Committing => "committing",
        TaskStage::Pushing => "pushing",
        TaskStage::Done => "done",
    }
}

/// A status badge with `data-status` for tests.
#[component]
pub fn StatusBadge(props: &StatusBadgeProps) -> Html {
    let s = props.status;
    let text = match (s, props.stage) {
        (TaskStatus::Processing | TaskStatus::Pending, Some(stage)) if stage != TaskStage::Done => {
            format!("{} · {}", status_label(s), stage_label(stage))
        }
        _ => status_label(s).to_owned(),
    };
    html! {
        <span class={classes!("badge", format!("status-{}", s.as_str()))}
              data-testid={props.testid.clone()} data-status={s.as_str()}>
            { text }
        </span>
    }
}
