//! The few steps that must happen in the forked child before `bwrap` is executed.
//!
//! Limits and the cgroup must apply from the first instruction of `bwrap`: setting them from the
//! parent after spawning races with the sandbox's first forks.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};
use rustix::process::{Resource, Rlimit, Signal};
use tokio::process::Command;

use crate::spec::Limits;

/// What the child applies to itself before `exec`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildSetup {
    rlimits: Vec<(Resource, u64)>,
    cgroup_procs: Vec<CString>,
}

impl ChildSetup {
    /// Limits from `limits` and membership of the sandbox's cgroups.
    pub(crate) fn new(limits: &Limits, cgroups: &[PathBuf]) -> Self {
        let mut rlimits = vec![(Resource::Core, 0)];
        if let Some(n) = limits.max_processes {
            rlimits.push((Resource::Nproc, u64::from(n)));
        }
        if let Some(bytes) = limits.max_file_size_bytes {
            rlimits.push((Resource::Fsize, bytes));
        }
        if let Some(bytes) = limits.address_space_bytes {
            rlimits.push((Resource::As, bytes));
        }
        let cgroup_procs = cgroups
            .iter()
            .filter_map(|dir| CString::new(dir.join("cgroup.procs").as_os_str().as_bytes()).ok())
            .collect();
        Self { rlimits, cgroup_procs }
    }

    /// Arranges for the child to apply this setup between `fork` and `exec`.
    pub(crate) fn install(self, command: &mut Command) {
        // SAFETY: the closure runs in the forked child, where only async-signal-safe operations
        // are allowed. It only makes raw system calls (prctl, setrlimit, open, write, close)
        // through rustix on data prepared before the fork; it does not allocate, lock or touch
        // other threads' state.
        unsafe {
            command.pre_exec(move || {
                // If the server dies, take the sandbox with it instead of leaving it running.
                rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
                for (resource, value) in &self.rlimits {
                    let limit = Rlimit { current: Some(*value), maximum: Some(*value) };
                    rustix::process::setrlimit(*resource, limit)?;
                }
                for procs in &self.cgroup_procs {
                    // Writing 0 moves the writing process itself (v1 and v2).
                    let fd = rustix::fs::open(procs.as_c_str(), OFlags::WRONLY, Mode::empty())?;
                    rustix::io::write(&fd, b"0")?;
                }
                Ok(())
            });
        }
    }
}
