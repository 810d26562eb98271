//! Reusable UI pieces.

pub mod agent_picker;
pub mod async_content;
pub mod changes;
pub mod chat;
pub mod diff;
pub mod forms;
pub mod markdown;
pub mod pr_panel;
pub mod preview;
pub mod repo_picker;
pub mod sidebar;
pub mod status_badge;
pub mod task_form;
pub mod timeline;
pub mod user_menu;
