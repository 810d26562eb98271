//! Per-sandbox control groups: memory and CPU weights, and a process limit that counts every
//! task of the sandbox whatever its uid.
//!
//! `RLIMIT_NPROC` is not enforced for processes whose real uid on the host is root. Sandboxes
//! used to run as root on the host when the server did (`--uid 1000` inside mapped to uid 0
//! outside), and a sandboxed shell started by root with `RLIMIT_NPROC=30` forked 100 processes.
//! They now run as a uid of their own (see `identity`), which the rlimit binds; a `pids` cgroup
//! still contains a fork bomb on its own, and as non-root it counts the sandbox alone where the
//! rlimit counts every process of the server's uid. A `memory` cgroup caps the sandbox as a
//! whole; a `cpu` cgroup gives each sandbox its weight, so one that starts many threads does not
//! crowd the others out.
//!
//! Supported layouts: cgroup v1 with `pids` (and optionally `memory` and `cpu`) hierarchies under
//! `/sys/fs/cgroup/<controller>`, where we nest below the server's own cgroup; and cgroup v2,
//! where the operator delegates a directory (systemd `Delegate=yes`) or the server runs in the
//! root cgroup.
//!
//! A cgroup is named `<owner>.<sandbox id>`, where `<owner>` stands for the data directory (see
//! [`owner_tag`]). The parent directories are shared by every Drydock data directory whose
//! server runs in the same cgroup (each test's temporary directory, a second deployment on the
//! host), so the name is what tells `gc` which cgroups are its own: it never touches another
//! data directory's, whose sandboxes it cannot see.

use std::path::{Path, PathBuf};

use crate::spec::{validate_id, Limits};

/// Where per-sandbox cgroups are created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CgroupMode {
    /// Find a usable hierarchy; use none when there is none (and say so in capabilities).
    #[default]
    Auto,
    /// Never use cgroups.
    Off,
    /// A cgroup v2 directory delegated to Drydock; sandboxes become its children.
    V2(PathBuf),
}

/// The parent directories under which sandbox cgroups are made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CgroupRoots {
    /// Parent for `pids` (v1) or for everything (v2).
    pub pids: Option<PathBuf>,
    /// Parent for `memory` on v1; on v2 same as `pids`.
    pub memory: Option<PathBuf>,
    /// Parent for `cpu` on v1; on v2 same as `pids` when the `cpu` controller could be enabled.
    pub cpu: Option<PathBuf>,
    v2: bool,
    /// First part of this data directory's cgroup names.
    owner: String,
}

impl CgroupRoots {
    /// Resolves `mode` into usable parent directories, creating them, for the sandboxes of
    /// `data_root`. Failures just mean "no cgroups": the capability flags report what is
    /// enforced.
    pub(crate) fn detect(mode: &CgroupMode, data_root: &Path) -> Self {
        let parents = match mode {
            CgroupMode::Off => Self::default(),
            CgroupMode::V2(dir) => v2_roots(dir),
            CgroupMode::Auto if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() => {
                let own = own_cgroup("").unwrap_or_default();
                if own == "/" {
                    v2_roots(Path::new("/sys/fs/cgroup/drydock"))
                } else {
                    // No internal processes rule: our own cgroup cannot hand out controllers
                    // while we live in it, so v2 needs an explicit delegated directory.
                    Self::default()
                }
            }
            CgroupMode::Auto => Self {
                pids: v1_root("pids"),
                memory: v1_root("memory"),
                cpu: v1_root("cpu"),
                ..Self::default()
            },
        };
        Self { owner: owner_tag(data_root), ..parents }
    }

    fn name(&self, id: &str) -> String {
        format!("{}.{id}", self.owner)
    }

    /// The sandbox id in a cgroup's name, when the cgroup is one this data directory made.
    fn sandbox_of<'a>(&self, name: &'a str) -> Option<&'a str> {
        let (owner, id) = name.split_once('.')?;
        (owner == self.owner && validate_id(id).is_ok()).then_some(id)
    }

    /// Creates the cgroups for one sandbox and applies its limits; returns their directories.
    pub(crate) fn create(&self, id: &str, limits: &Limits) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(parent) = &self.pids {
            let dir = parent.join(self.name(id));
            if std::fs::create_dir_all(&dir).is_ok() {
                if let Some(n) = limits.max_processes {
                    write(&dir.join("pids.max"), &n.to_string());
                }
                if self.v2 {
                    if let Some(bytes) = limits.memory_bytes {
                        write(&dir.join("memory.max"), &bytes.to_string());
                        write(&dir.join("memory.swap.max"), "0");
                    }
                    if let (Some(_), Some(weight)) = (&self.cpu, limits.cpu_weight) {
                        write(&dir.join("cpu.weight"), &weight.clamp(1, 10_000).to_string());
                    }
                }
                dirs.push(dir);
            }
        }
        if let (false, Some(parent), Some(weight)) = (self.v2, &self.cpu, limits.cpu_weight) {
            let dir = parent.join(self.name(id));
            if std::fs::create_dir_all(&dir).is_ok() {
                write(&dir.join("cpu.shares"), &v1_shares(weight).to_string());
                dirs.push(dir);
            }
        }
        if let (false, Some(parent), Some(bytes)) = (self.v2, &self.memory, limits.memory_bytes) {
            let dir = parent.join(self.name(id));
            if std::fs::create_dir_all(&dir).is_ok() {
                write(&dir.join("memory.limit_in_bytes"), &bytes.to_string());
                dirs.push(dir);
            }
        }
        dirs
    }

    /// Removes this data directory's cgroups whose sandbox is gone (`has_sandbox` says no) and
    /// which hold no processes: those of a server killed before it could remove them, or of a
    /// sandbox directory deleted by hand. A cgroup that still holds processes is left alone and
    /// reported. Failures are logged, never returned, so they do not stop the collection of
    /// expired sandboxes.
    pub(crate) async fn collect_stale(&self, has_sandbox: impl Fn(&str) -> bool) {
        let mut parents: Vec<&PathBuf> =
            self.pids.iter().chain(&self.memory).chain(&self.cpu).collect();
        parents.sort();
        parents.dedup();
        for parent in parents {
            let entries = match std::fs::read_dir(parent) {
                Ok(entries) => entries,
                Err(err) => {
                    tracing::warn!(dir = %parent.display(), %err, "could not list sandbox cgroups");
                    continue;
                }
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(id) = name.to_str().and_then(|name| self.sandbox_of(name)) else {
                    continue;
                };
                if !entry.file_type().is_ok_and(|t| t.is_dir()) || has_sandbox(id) {
                    continue;
                }
                let dir = entry.path();
                match std::fs::read_to_string(dir.join("cgroup.procs")) {
                    Ok(procs) if procs.trim().is_empty() => {}
                    Ok(procs) => {
                        tracing::warn!(
                            sandbox = %id,
                            dir = %dir.display(),
                            processes = procs.lines().count(),
                            "cgroup of removed sandbox {id} still holds processes; leaving it"
                        );
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(dir = %dir.display(), %err, "could not read cgroup.procs");
                        continue;
                    }
                }
                if remove_one(&dir).await {
                    let dir = dir.display();
                    tracing::info!(sandbox = %id, %dir, "removed stale cgroup of sandbox {id}");
                }
            }
        }
    }

    /// Whether process counts are enforced through cgroups.
    pub(crate) fn limits_processes(&self) -> bool {
        self.pids.is_some()
    }

    /// Whether memory is enforced through cgroups.
    pub(crate) fn limits_memory(&self) -> bool {
        self.memory.is_some()
    }

    /// Whether CPU weights are enforced through cgroups.
    pub(crate) fn limits_cpu(&self) -> bool {
        self.cpu.is_some()
    }

    /// Which cgroup version is in use, for reports.
    pub(crate) fn version(&self) -> &'static str {
        if self.v2 {
            "v2"
        } else {
            "v1"
        }
    }
}

/// A cgroup v2 weight (1-10000, 100 by default) as cgroup v1 `cpu.shares` (2-262144, 1024 by
/// default).
fn v1_shares(weight: u32) -> u64 {
    (u64::from(weight.clamp(1, 10_000)) * 1024 / 100).clamp(2, 262_144)
}

/// Removes a sandbox's cgroups. They must be empty; right after a kill the kernel may still be
/// tearing down the last tasks (rmdir says `EBUSY`), so retry for a short while.
pub(crate) async fn remove(dirs: &[PathBuf]) {
    for dir in dirs {
        remove_one(dir).await;
    }
}

/// [`remove`] for one directory; says whether it is gone.
async fn remove_one(dir: &Path) -> bool {
    // The kernel usually lets go within a millisecond or two of the last task being reaped:
    // start with short waits, up to about a second in all.
    let mut waited = std::time::Duration::ZERO;
    let mut wait = std::time::Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return true,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) if waited < std::time::Duration::from_secs(1) => {
                tokio::time::sleep(wait).await;
                waited += wait;
                wait = (wait * 2).min(std::time::Duration::from_millis(25));
            }
            Err(err) => {
                tracing::warn!(dir = %dir.display(), %err, "could not remove sandbox cgroup");
                return false;
            }
        }
    }
}

/// Sixteen hex digits standing for the data directory: FNV-1a of its canonical path. A stable
/// hash (unlike std's `DefaultHasher`), so the server that replaces a killed one finds its
/// predecessor's cgroups, whatever toolchain built it.
fn owner_tag(data_root: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let path = std::fs::canonicalize(data_root).unwrap_or_else(|_| data_root.to_path_buf());
    let hash = path.as_os_str().as_bytes().iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn v2_roots(dir: &Path) -> CgroupRoots {
    // `cgroup.controllers` exists only on a real cgroup2 directory: anywhere else the write
    // below would just create an ordinary file and limits would silently not apply.
    let ok = std::fs::create_dir_all(dir).is_ok()
        && dir.join("cgroup.controllers").is_file()
        && std::fs::write(dir.join("cgroup.subtree_control"), "+pids +memory").is_ok();
    if ok {
        // Optional: without it sandboxes still get process and memory limits.
        let cpu = std::fs::write(dir.join("cgroup.subtree_control"), "+cpu").is_ok();
        CgroupRoots {
            pids: Some(dir.to_path_buf()),
            memory: Some(dir.to_path_buf()),
            cpu: cpu.then(|| dir.to_path_buf()),
            v2: true,
            ..CgroupRoots::default()
        }
    } else {
        CgroupRoots::default()
    }
}

/// `/sys/fs/cgroup/<controller>/<our cgroup>/drydock`, when we may create it. Nesting below our
/// own cgroup keeps sandboxes inside whatever limits the server itself runs under.
fn v1_root(controller: &str) -> Option<PathBuf> {
    let own = own_cgroup(controller)?;
    let dir = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(own.trim_start_matches('/'))
        .join("drydock");
    std::fs::create_dir_all(&dir).ok()?;
    let probe = dir.join(format!("probe-{}", std::process::id()));
    std::fs::create_dir(&probe).ok()?;
    std::fs::remove_dir(&probe).ok()?;
    Some(dir)
}

/// Our cgroup path for `controller` (`""` for v2) from `/proc/self/cgroup`.
fn own_cgroup(controller: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == controller).then(|| path.to_string())
    })
}

fn write(path: &Path, value: &str) {
    if let Err(err) = std::fs::write(path, value) {
        tracing::warn!(path = %path.display(), %err, "could not set sandbox cgroup limit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_data_directory() {
        let ours = CgroupRoots { owner: owner_tag(Path::new("/srv/a")), ..Default::default() };
        let theirs = CgroupRoots { owner: owner_tag(Path::new("/srv/b")), ..Default::default() };
        assert_ne!(ours.owner, theirs.owner);
        assert_eq!(ours.owner.len(), 16);
        let name = ours.name("t1-r1");
        assert_eq!(ours.sandbox_of(&name), Some("t1-r1"));
        assert_eq!(theirs.sandbox_of(&name), None, "another data directory's cgroup");
        assert_eq!(ours.sandbox_of("t1-r1"), None, "a cgroup named before owners existed");
        assert_eq!(ours.sandbox_of(&format!("{}.a.b", ours.owner)), None, "not a sandbox id");
        assert_eq!(ours.sandbox_of(&format!("{}.", ours.owner)), None, "empty id");
    }

    #[test]
    fn cpu_weights_map_to_v1_shares() {
        assert_eq!(v1_shares(100), 1024);
        assert_eq!(v1_shares(50), 512);
        assert_eq!(v1_shares(0), 10);
        assert_eq!(v1_shares(100_000), 102_400);
    }

    #[test]
    fn owner_tag_is_stable() {
        // FNV-1a of "/srv/a"; a changed tag would orphan every existing sandbox's cgroup.
        assert_eq!(owner_tag(Path::new("/srv/a")), "39aff565700eaeb7");
    }
}
