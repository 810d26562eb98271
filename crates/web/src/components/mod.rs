//! Reusable UI pieces.

pub mod agent_picker;
pub mod async_content;
pub mod changes;
pub mod chat;
pub mod diff;
pub mod editor;
pub mod forms;
pub mod icon;
pub mod markdown;
pub mod network_summary;
pub mod new_repo;
pub mod pr_panel;
pub mod preview;
pub mod repo_picker;
pub mod sandbox;
pub mod sandboxes_dialog;
pub mod shortcuts;
pub mod sidebar;
pub mod sidebar_repos;
pub mod status_badge;
pub mod task_form;
pub mod terminal;
pub mod timeline;
pub mod toasts;
pub mod user_menu;
pub mod workspace_changes;
