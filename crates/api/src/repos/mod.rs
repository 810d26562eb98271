//! The caller's repositories as seen from their own tasks: task counts per repository (the
//! sidebar's Repos tab) and the forge items of one repository that already have a task (the
//! repository browser's "has a task" links). Only the caller's tasks that are not deleted
//! count; the forge itself is not asked.

pub mod endpoints;
pub mod model;
