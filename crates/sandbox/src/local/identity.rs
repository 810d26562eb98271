//! Which host uid a sandbox runs as.
//!
//! When the server runs as root, every sandbox gets a uid (and the gid of the same number) of
//! its own from a configured range, so that it is neither root on the host nor the owner of
//! anything but its own workspace and HOME, cannot signal or trace other sandboxes, and is
//! bound by `RLIMIT_NPROC`. The child drops to it before executing bubblewrap (see `pre_exec`),
//! which then runs unprivileged and maps it to uid 1000 inside.
//!
//! Uids are leased through files `<root>/.uids/<uid>` created with `O_EXCL`, holding the
//! sandbox id: every process sharing the data directory (several `serve` and `worker`
//! processes) sees the same leases, and a lease outlives the process that took it, like the
//! sandbox. A lease is freed when its sandbox is destroyed or, if the sandbox directory is gone,
//! by `gc`; before that, every process still running as the uid is killed, so the next sandbox
//! given the uid meets none of its predecessor's processes.
//!
//! When the server is not root, sandboxes run as the server's own uid: it cannot hand out
//! others. See `docs/security.md` for what that does and does not separate.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SandboxError};
use crate::spec::validate_id;

/// Directory of the lease files, inside the data directory (not a valid sandbox id).
pub(crate) const LEASES: &str = ".uids";

/// A host uid and gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostId {
    pub uid: u32,
    pub gid: u32,
}

/// How sandboxes get their host identity.
#[derive(Debug, Clone)]
pub(crate) enum Identities {
    /// The server is root: one uid per sandbox from `base..base + count`.
    Own {
        base: u32,
        count: u32,
        /// `<root>/.uids`.
        leases: PathBuf,
    },
    /// The server is not root: sandboxes share its uid and gid.
    Server(HostId),
}

impl Identities {
    /// Decides from who we are; as root, checks the range and prepares the lease directory.
    pub(crate) fn new(root: &Path, base: u32, count: u32) -> Result<Self> {
        let me = HostId {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        };
        if me.uid != 0 {
            return Ok(Self::Server(me));
        }
        check_range(base, count)?;
        check_unused(base, count, Path::new("/etc/passwd"), "user")?;
        check_unused(base, count, Path::new("/etc/group"), "group")?;
        let leases = root.join(LEASES);
        std::fs::create_dir_all(&leases)
            .map_err(|e| SandboxError::io(format!("creating {}", leases.display()), e))?;
        super::set_mode(&leases, 0o700)?;
        Ok(Self::Own { base, count, leases })
    }

    /// Whether sandboxes get uids of their own.
    pub(crate) fn own(&self) -> bool {
        matches!(self, Self::Own { .. })
    }

    /// An identity for sandbox `id`: a freshly leased uid, or the server's.
    pub(crate) fn lease(&self, id: &str) -> Result<HostId> {
        let (base, count, leases) = match self {
            Self::Server(me) => return Ok(*me),
            Self::Own { base, count, leases, .. } => (*base, *count, leases),
        };
        // Start somewhere random so that concurrent creators rarely race for the same file.
        let start = uuid::Uuid::new_v4().as_u128() % u128::from(count);
        for step in 0..u128::from(count) {
            let offset = u32::try_from((start + step) % u128::from(count)).unwrap_or(0);
            let uid = base + offset;
            let path = leases.join(uid.to_string());
            let file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path);
            match file {
                Ok(mut file) => {
                    // No fsync of its own: the sandbox's metadata, written next, is synced, and
                    // that commits the journal holding this file too (ext4, xfs).
                    if let Err(e) = file.write_all(id.as_bytes()) {
                        let _ = std::fs::remove_file(&path);
                        return Err(SandboxError::io(format!("writing {}", path.display()), e));
                    }
                    return Ok(HostId { uid, gid: uid });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(SandboxError::io(format!("leasing {}", path.display()), e)),
            }
        }
        Err(SandboxError::Unavailable {
            reason: format!(
                "all {count} sandbox uids ({base}..{}) are leased; raise tasks.sandbox_uid_count \
                 or destroy sandboxes",
                u64::from(base) + u64::from(count)
            ),
        })
    }

    /// Frees the lease of `id` on `uid`, after killing whatever still runs as it. Does nothing
    /// for the server's own identity, or when the lease is no longer `id`'s. Blocks briefly.
    pub(crate) fn release(&self, id: &str, host: HostId) {
        let Self::Own { leases, .. } = self else {
            return;
        };
        let path = leases.join(host.uid.to_string());
        match std::fs::read_to_string(&path) {
            Ok(holder) if holder == id => {}
            _ => return,
        }
        super::pre_exec::kill_all_of(host);
        if let Err(err) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), %err, "could not free a sandbox uid");
        }
    }

    /// Frees the leases whose sandbox is gone (`has_sandbox` says no): those of a process that
    /// died between leasing and creating, or of a sandbox directory removed by hand.
    pub(crate) async fn collect_stale(&self, has_sandbox: impl Fn(&str) -> bool) {
        let Self::Own { leases, .. } = self else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(leases) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(uid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(holder) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            // A lease is written right after its sandbox directory is made; an empty one is a
            // creator caught in between, or one that died there.
            if holder.is_empty() || (validate_id(&holder).is_ok() && has_sandbox(&holder)) {
                continue;
            }
            tracing::info!(uid, sandbox = %holder, "freeing the uid of a removed sandbox");
            let identities = self.clone();
            let freed = tokio::task::spawn_blocking(move || {
                identities.release(&holder, HostId { uid, gid: uid });
            });
            let _ = freed.await;
        }
    }
}

/// The range must be unprivileged, not wrap, and stay clear of `nobody` and `(uid_t)-1`.
fn check_range(base: u32, count: u32) -> Result<()> {
    let end = u64::from(base) + u64::from(count);
    let problem = if count == 0 {
        Some("tasks.sandbox_uid_count is 0".to_string())
    } else if base < 1000 {
        Some(format!("tasks.sandbox_uid_base {base} is in the system range (below 1000)"))
    } else if end > u64::from(u32::MAX) {
        Some(format!("the range {base}..{end} passes the largest uid"))
    } else if (u64::from(base)..end).contains(&65534) {
        Some(format!("the range {base}..{end} contains 65534 (nobody)"))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(SandboxError::Unavailable {
            reason: format!(
                "sandbox uids: {problem}; choose a range no account uses (see docs/deploy.md)"
            ),
        }),
        None => Ok(()),
    }
}

/// Refuses a range that holds an existing account (or group) of `file`: a sandbox running as
/// it could reach that account's files and processes.
fn check_unused(base: u32, count: u32, file: &Path, what: &str) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(());
    };
    let end = u64::from(base) + u64::from(count);
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), _, Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(id) = id.parse::<u64>() {
            if (u64::from(base)..end).contains(&id) {
                return Err(SandboxError::Unavailable {
                    reason: format!(
                        "sandbox uids {base}..{end} include the {what} {name} ({id}) of {}; set \
                         tasks.sandbox_uid_base to a range no account uses (see docs/deploy.md)",
                        file.display()
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert!(check_range(200_000, 1000).is_ok());
        assert!(check_range(200_000, 0).is_err());
        assert!(check_range(0, 10).is_err());
        assert!(check_range(65_000, 1000).is_err(), "contains nobody");
        assert!(check_range(u32::MAX - 5, 10).is_err());
    }

    #[test]
    fn accounts_in_the_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        std::fs::write(
            &passwd,
            "root:x:0:0::/root:/bin/sh\nbob:x:200500:200500::/home/bob:/bin/sh\n",
        )
        .unwrap();
        let err = check_unused(200_000, 1000, &passwd, "user").unwrap_err().to_string();
        assert!(err.contains("bob (200500)"), "{err}");
        assert!(check_unused(300_000, 1000, &passwd, "user").is_ok());
    }

    #[test]
    fn leases_are_exclusive_and_freed_only_by_their_holder() {
        let dir = tempfile::tempdir().unwrap();
        let leases = dir.path().join(LEASES);
        std::fs::create_dir(&leases).unwrap();
        let ids = Identities::Own { base: 300_000, count: 3, leases: leases.clone() };
        let taken: Vec<u32> = ["a", "b", "c"].iter().map(|id| ids.lease(id).unwrap().uid).collect();
        let mut sorted = taken.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [300_000, 300_001, 300_002]);
        let err = ids.lease("d").unwrap_err().to_string();
        assert!(err.contains("tasks.sandbox_uid_count"), "{err}");
        let holder = std::fs::read_to_string(leases.join(taken[0].to_string())).unwrap();
        assert_eq!(holder, "a");
    }
}
