//! Test support shared with other crates (feature `testing`).

pub mod git_http;
