//! Local bare repositories as remotes, and the fake agent binary: from `crates/fakes`, shared
//! with the browser tests and the benchmarks.

pub use fakes::git::{fake_agent, git, BareRepo};
