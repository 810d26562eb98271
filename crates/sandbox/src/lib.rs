//! Sandboxes, the git pipeline and agent strategies.
