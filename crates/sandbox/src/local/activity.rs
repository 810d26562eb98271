//! Whether code runs in a sandbox, known to every process that shares the data directory.
//!
//! Each command holds, for its whole life, a shared `flock` on `<dir>/activity.lock` and an
//! exclusive one on a lease file of its own in `<dir>/execs/`. The kernel lets go of both when
//! the holder dies, so a killed server leaves nothing that looks busy (a stale lease file is
//! removed by the next count). The host takes the activity lock exclusively, without waiting,
//! before it reads a workspace: that succeeds only while no command runs, and a command started
//! meanwhile waits until the host is done.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;

/// The lock every command holds shared and the host takes exclusively.
const LOCK: &str = "activity.lock";
/// One lease file per running command.
const EXECS: &str = "execs";

/// Held by a running command; dropping it (or the holder dying) ends the lease.
#[derive(Debug)]
pub(crate) struct ExecLease {
    _activity: File,
    _lease: File,
    path: PathBuf,
}

impl Drop for ExecLease {
    fn drop(&mut self) {
        // Before the descriptors close: a counter then never sees a lease file it could lock.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn open_lock(dir: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(dir.join(LOCK))
}

/// Starts a command's lease; blocks while the host holds the sandbox idle.
pub(crate) fn begin(dir: &Path) -> std::io::Result<ExecLease> {
    let activity = open_lock(dir)?;
    rustix::fs::flock(&activity, FlockOperation::LockShared)?;
    let execs = dir.join(EXECS);
    match std::fs::create_dir(&execs) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let name = uuid::Uuid::new_v4().simple().to_string();
    // Locked under a hidden name first, so no counter ever finds it unlocked and removes it.
    let hidden = execs.join(format!(".{name}"));
    let lease =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&hidden)?;
    rustix::fs::flock(&lease, FlockOperation::NonBlockingLockExclusive)?;
    let path = execs.join(name);
    std::fs::rename(&hidden, &path)?;
    Ok(ExecLease { _activity: activity, _lease: lease, path })
}

/// The activity lock held exclusively, when no command holds it.
pub(crate) fn hold_idle(dir: &Path) -> std::io::Result<Option<File>> {
    let activity = open_lock(dir)?;
    match rustix::fs::flock(&activity, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(activity)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// How many commands run in the sandbox now, from every process. Lease files nobody holds (a
/// server that was killed) are removed.
pub(crate) fn commands(dir: &Path) -> u32 {
    let Ok(entries) = std::fs::read_dir(dir.join(EXECS)) else {
        return 0;
    };
    let mut running = 0;
    for entry in entries.flatten() {
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let Ok(file) = File::open(entry.path()) else {
            continue;
        };
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Err(rustix::io::Errno::WOULDBLOCK) => running += 1,
            Ok(()) => {
                let _ = std::fs::remove_file(entry.path());
            }
            Err(_) => running += 1,
        }
    }
    running
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_count_and_keep_the_host_out() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(commands(dir.path()), 0);
        let idle = hold_idle(dir.path()).unwrap().expect("idle");
        drop(idle);
        let lease = begin(dir.path()).unwrap();
        assert_eq!(commands(dir.path()), 1);
        assert!(hold_idle(dir.path()).unwrap().is_none(), "a command runs");
        let second = begin(dir.path()).unwrap();
        assert_eq!(commands(dir.path()), 2);
        drop(lease);
        drop(second);
        assert_eq!(commands(dir.path()), 0);
        assert!(hold_idle(dir.path()).unwrap().is_some());
    }

    #[test]
    fn a_lease_nobody_holds_is_not_a_command() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(EXECS)).unwrap();
        std::fs::write(dir.path().join(EXECS).join("dead"), "").unwrap();
        assert_eq!(commands(dir.path()), 0);
        assert!(!dir.path().join(EXECS).join("dead").exists(), "stale lease removed");
    }
}
