//! The steps that must happen in the forked child before `bwrap` is executed.
//!
//! Limits and the cgroup must apply from the first instruction of `bwrap`: setting them from the
//! parent after spawning races with the sandbox's first forks. When the server is root, the
//! child also stages the sandbox's directories where its own uid can reach them and then drops
//! to that uid (see [`Stage`] and `identity`), so bubblewrap runs unprivileged and builds the
//! user namespace itself.
//!
//! Everything the child uses is prepared before the fork: it only makes raw system calls
//! through rustix (and `kill` through libc) on that data, which is async-signal-safe.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::FdFlags;
use rustix::mount::{MountFlags, MountPropagationFlags};
use rustix::process::{Gid, Pid, Resource, Rlimit, Signal, Uid};
use rustix::thread::UnshareFlags;
use tokio::process::Command;

use super::identity::HostId;
use crate::error::{Result, SandboxError};
use crate::spec::Limits;

/// Where the staged directories appear for `bwrap`, in the child's own mount namespace.
pub(crate) const STAGE_DIR: &str = "/tmp/drydock";

/// Host directories bound below [`STAGE_DIR`] in a mount namespace of the child's own, so that
/// `bwrap`, once it runs as the sandbox's uid, reaches them even when the data directory lies
/// under a private (0700) home. Nothing on the host changes: no permission is opened, and the
/// mounts vanish with the namespace.
///
/// The child opens every path (as root) before the staging tmpfs goes over `/tmp`, which may
/// itself hold them (tests' temporary directories), then binds each from its descriptor.
/// They must be opened after the namespace is made: the kernel refuses to bind a mount of
/// another namespace. That is also why `bwrap --bind-fd` cannot do this (it turns the
/// descriptor back into its path, and looks that up as the sandbox's uid).
#[derive(Debug, Default)]
pub(crate) struct Stage {
    /// Host path, where it goes, and whether it is a directory (else a file).
    entries: Vec<(CString, CString, bool)>,
}

/// Most paths one command stages (workspace, HOME, etc, tools, egress, relay, and a sandbox's
/// read-only binds such as a browser's).
const MAX_STAGED: usize = 14;

impl Stage {
    /// Arranges for `path` (a directory or a file, such as a program or a socket) to be bound
    /// at `STAGE_DIR/name`; returns that path for the bwrap plan.
    pub(crate) fn add(&mut self, path: &Path, name: &str) -> Result<PathBuf> {
        if self.entries.len() == MAX_STAGED {
            return Err(SandboxError::InvalidRequest(format!(
                "more than {MAX_STAGED} paths to stage"
            )));
        }
        let is_dir = std::fs::metadata(path)
            .map_err(|e| SandboxError::io(format!("reading {}", path.display()), e))?
            .is_dir();
        let staged = Path::new(STAGE_DIR).join(name);
        let source = cstring(path.as_os_str().as_bytes())?;
        let target = cstring(staged.as_os_str().as_bytes())?;
        self.entries.push((source, target, is_dir));
        Ok(staged)
    }

    fn apply(&self) -> std::io::Result<()> {
        // SAFETY: the child is single-threaded; unsharing the mount namespace affects nothing
        // but this process.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS)? };
        // Mounts made below must not propagate back to the host.
        rustix::mount::mount_change(
            c"/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        )?;
        // A fixed array: the child must not allocate.
        let mut opened: [Option<OwnedFd>; MAX_STAGED] = Default::default();
        for ((source, _, _), slot) in self.entries.iter().zip(opened.iter_mut()) {
            let flags = OFlags::PATH | OFlags::CLOEXEC;
            *slot = Some(rustix::fs::open(source.as_c_str(), flags, Mode::empty())?);
        }
        let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        rustix::mount::mount(c"tmpfs", c"/tmp", c"tmpfs", flags, c"mode=0755,size=64k")?;
        rustix::fs::mkdir(STAGE_DIR_C, Mode::from(0o755))?;
        for ((_, target, is_dir), fd) in self.entries.iter().zip(opened.iter().flatten()) {
            if *is_dir {
                rustix::fs::mkdir(target.as_c_str(), Mode::from(0o755))?;
            } else {
                let flags = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC;
                drop(rustix::fs::open(target.as_c_str(), flags, Mode::from(0o644))?);
            }
            let mut buffer = [0u8; 32];
            rustix::mount::mount_bind(fd_path(fd, &mut buffer)?, target.as_c_str())?;
        }
        Ok(())
    }
}

/// `/proc/self/fd/<fd>` in `buffer`, formatted without allocating.
fn fd_path<'a>(fd: &OwnedFd, buffer: &'a mut [u8; 32]) -> std::io::Result<&'a CStr> {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    buffer[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut n = u32::try_from(fd.as_raw_fd()).map_err(|_| std::io::Error::other("bad fd"))?;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (i, digit) in digits[..len].iter().rev().enumerate() {
        buffer[PREFIX.len() + i] = *digit;
    }
    buffer[PREFIX.len() + len] = 0;
    CStr::from_bytes_until_nul(&buffer[..]).map_err(|_| std::io::Error::other("bad fd path"))
}

const STAGE_DIR_C: &CStr = c"/tmp/drydock";

/// What the child applies to itself before `exec`.
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    rlimits: Vec<(Resource, u64)>,
    cgroup_procs: Vec<CString>,
    /// Only when the server is root.
    stage: Option<Stage>,
    /// The identity to drop to, when it is not the server's.
    drop_to: Option<HostId>,
    /// Descriptors `bwrap` must inherit (the seccomp programs).
    inherit: Vec<OwnedFd>,
    /// The server, which must still be our parent once the death signal is set.
    parent: Option<Pid>,
    /// Standard input is a pseudo-terminal that becomes the controlling terminal of a new
    /// session (see `pty`).
    controlling_terminal: bool,
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
        let parent = Pid::from_raw(i32::try_from(std::process::id()).unwrap_or(0));
        Self { rlimits, cgroup_procs, parent, ..Self::default() }
    }

    /// Stages directories and drops to `identity` (the server is root).
    pub(crate) fn run_as_sandbox_user(mut self, stage: Stage, identity: HostId) -> Self {
        self.stage = Some(stage);
        self.drop_to = Some(identity);
        self
    }

    /// Starts a new session whose controlling terminal is standard input (a pseudo-terminal's
    /// other end), so the shell gets job control and Ctrl-C; the server's own terminal, if it
    /// has one, is left behind with the old session.
    pub(crate) fn with_controlling_terminal(mut self) -> Self {
        self.controlling_terminal = true;
        self
    }

    /// Keeps `fd` open across `exec`; returns its number for the command line.
    pub(crate) fn inherit(&mut self, fd: OwnedFd) -> i32 {
        let raw = fd.as_raw_fd();
        self.inherit.push(fd);
        raw
    }

    /// Arranges for the child to apply this setup between `fork` and `exec`.
    pub(crate) fn install(self, command: &mut Command) {
        // Nothing in the child should depend on the server's working directory, which may be
        // somewhere the sandbox's uid cannot enter.
        command.current_dir("/");
        // SAFETY: the closure runs in the forked child, where only async-signal-safe operations
        // are allowed. It only makes raw system calls (setsid, ioctl, prctl, setrlimit, open,
        // write, unshare, mount, mkdir, fcntl, setgroups, setgid, setuid) through rustix on data prepared before
        // the fork; it does not allocate, lock or touch other threads' state.
        unsafe {
            command.pre_exec(move || self.apply());
        }
    }

    fn apply(&self) -> std::io::Result<()> {
        if self.controlling_terminal {
            rustix::process::setsid()?;
            rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())?;
        }
        for (resource, value) in &self.rlimits {
            let limit = Rlimit { current: Some(*value), maximum: Some(*value) };
            rustix::process::setrlimit(*resource, limit)?;
        }
        for procs in &self.cgroup_procs {
            // Writing 0 moves the writing process itself (v1 and v2).
            let fd = rustix::fs::open(procs.as_c_str(), OFlags::WRONLY, Mode::empty())?;
            rustix::io::write(&fd, b"0")?;
        }
        if let Some(stage) = &self.stage {
            stage.apply()?;
        }
        if let Some(identity) = self.drop_to {
            drop_to(identity)?;
        }
        for fd in &self.inherit {
            rustix::io::fcntl_setfd(fd, FdFlags::empty())?;
        }
        // After the uid change, which clears it: if the server dies, take the sandbox with it
        // instead of leaving it running; and if it died already, do not start at all.
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
        if rustix::process::getppid() != self.parent {
            return Err(std::io::Error::other("the server exited"));
        }
        Ok(())
    }
}

/// Becomes `identity` for good: no supplementary groups, then gid, then uid (the order that
/// still has the privilege for each step), and checks it took. These are per-thread system
/// calls: in the forked child, which has one thread, that is the whole process.
fn drop_to(identity: HostId) -> std::io::Result<()> {
    rustix::thread::set_thread_groups(&[])?;
    rustix::thread::set_thread_gid(Gid::from_raw(identity.gid))?;
    rustix::thread::set_thread_uid(Uid::from_raw(identity.uid))?;
    let dropped = rustix::process::getuid().as_raw() == identity.uid
        && rustix::process::geteuid().as_raw() == identity.uid
        && rustix::process::getgid().as_raw() == identity.gid
        && rustix::process::getegid().as_raw() == identity.gid;
    if dropped {
        Ok(())
    } else {
        Err(std::io::Error::other("the uid change did not take"))
    }
}

/// Kills every process running as `identity`'s uid (blocking, briefly): `kill(-1)` from a thread that has become
/// that uid reaches exactly the processes it may signal, which are those of the uid (its own
/// process, Drydock, excepted). Used before a sandbox uid is handed to the next sandbox. Never
/// for root or the server's own uid.
///
/// Credentials are per thread for the kernel; the raw system calls used here (unlike libc's
/// `setuid`, which changes every thread) change only this new, short-lived thread, which ends
/// right after. It is never a pooled thread, so no other work ever runs with them.
pub(crate) fn kill_all_of(identity: HostId) {
    let me = rustix::process::getuid().as_raw();
    if identity.uid == 0 || identity.uid == me {
        return;
    }
    let reaper = std::thread::Builder::new().name("drydock-reap".into()).spawn(move || {
        drop_to(identity)?;
        // SAFETY: kill has no memory-safety preconditions. ESRCH (nothing left to kill) is the
        // usual answer.
        let _ = unsafe { libc::kill(-1, libc::SIGKILL) };
        Ok::<(), std::io::Error>(())
    });
    match reaper.map(|handle| handle.join()) {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) | Err(err) => {
            tracing::warn!(uid = identity.uid, %err, "killing a sandbox uid's processes");
        }
        Ok(Err(_)) => tracing::warn!(uid = identity.uid, "the reaper thread panicked"),
    }
}

fn cstring(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| SandboxError::InvalidRequest("a path holds a NUL byte".into()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// Needs root, like the backend's uid drop: a directory and a file in a private (0700)
    /// directory reach a command running as another uid, and nothing on the host is opened.
    #[tokio::test]
    async fn staged_paths_reach_the_dropped_uid() {
        // Outside /tmp, which the staging tmpfs covers: the direct path must fail for want of
        // permission, not because it is hidden.
        let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
        let private = tmp.path().join("private");
        std::fs::create_dir_all(private.join("dir")).unwrap();
        std::fs::write(private.join("dir/inside"), "in a dir\n").unwrap();
        std::fs::write(private.join("file"), "a file\n").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut stage = Stage::default();
        let dir = stage.add(&private.join("dir"), "dir").unwrap();
        let file = stage.add(&private.join("file"), "file").unwrap();
        let identity = HostId { uid: 200_777, gid: 200_777 };
        let setup = ChildSetup::new(&Limits::default(), &[]).run_as_sandbox_user(stage, identity);
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(format!(
            "id -u; cat {} {}; cat {} 2>&1 | grep -q 'Permission denied' && echo private",
            dir.join("inside").display(),
            file.display(),
            private.join("file").display()
        ));
        setup.install(&mut command);
        let out = command.output().await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "200777\nin a dir\na file\nprivate\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn fd_paths_are_formatted_in_place() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = OwnedFd::from(file);
        let mut buffer = [0u8; 32];
        let path = fd_path(&fd, &mut buffer).unwrap();
        assert_eq!(path.to_str().unwrap(), format!("/proc/self/fd/{}", fd.as_raw_fd()));
    }
}
