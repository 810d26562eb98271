//! Walking a sandbox's directories from the host, which the agent writes while we look.
//!
//! Directories are opened from the top with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_XDEV)`, entries are examined with `fstatat(AT_SYMLINK_NOFOLLOW)` and changed only
//! through a descriptor opened with `O_NOFOLLOW` and checked again, so a symlink or a directory
//! swapped in mid-walk never leads the host anywhere else. Only one directory is open at a time,
//! whatever the depth.

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Stat};

use super::identity::HostId;

const CONFINED: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// Calls `visit` with every entry below `root` (not `root` itself), with its directory and
/// `lstat`. Entries that vanish or cannot be opened are passed over.
///
/// With `changed_since` (nanoseconds since the epoch), the entries of a directory whose status has
/// not changed since then are not visited, only descended into: no entry can have been created
/// in, or moved into, such a directory since, as either would have updated its ctime, which
/// (unlike its mtime) no one can set back.
fn walk(
    root: &Path,
    changed_since: Option<i128>,
    mut visit: impl FnMut(BorrowedFd<'_>, &CStr, &Stat),
) -> std::io::Result<()> {
    let top =
        rustix::fs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut pending = vec![PathBuf::from(".")];
    while let Some(rel) = pending.pop() {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::openat2(&top, &rel, flags, Mode::empty(), CONFINED) else {
            continue;
        };
        let quiet = changed_since.is_some_and(|since| {
            rustix::fs::fstat(&fd).is_ok_and(|stat| ctime_nanos(&stat) < since)
        });
        let Ok(entries) = entries(&fd) else {
            continue;
        };
        for (name, kind) in entries {
            let is_dir = if quiet && kind != FileType::Unknown {
                kind == FileType::Directory
            } else {
                let Ok(stat) = rustix::fs::statat(&fd, &name, AtFlags::SYMLINK_NOFOLLOW) else {
                    continue;
                };
                if !quiet {
                    visit(fd.as_fd(), &name, &stat);
                }
                FileType::from_raw_mode(stat.st_mode) == FileType::Directory
            };
            if is_dir {
                pending.push(rel.join(OsStr::from_bytes(name.to_bytes())));
            }
        }
    }
    Ok(())
}

fn ctime_nanos(stat: &Stat) -> i128 {
    i128::from(stat.st_ctime) * 1_000_000_000 + i128::from(stat.st_ctime_nsec)
}

/// The entries of a directory with their type as `getdents` reports it, without `.` and `..`.
fn entries(dir: &OwnedFd) -> std::io::Result<Vec<(CString, FileType)>> {
    let mut reader = Dir::read_from(dir)?;
    let mut entries = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            entries.push((name.to_owned(), entry.file_type()));
        }
    }
    Ok(entries)
}

/// Disk the tree below `root` takes, in bytes: allocated blocks, so sparse files count for what
/// they really use. Hard links count once per name (an overestimate only the agent pays for).
pub(crate) fn disk_usage(root: &Path) -> std::io::Result<u64> {
    let mut total: u64 = 0;
    walk(root, None, |_, _, stat| {
        let blocks = u64::try_from(stat.st_blocks).unwrap_or(0);
        total = total.saturating_add(blocks.saturating_mul(512));
    })?;
    Ok(total)
}

/// Gives the sandbox's identity the files and directories below `root` that the host (running
/// as `host_uid`) created there, such as a clone, a commit's objects or a configuration file, so
/// the agent can change them.
///
/// With `changed_since` (see [`walk`]), only directories changed since then are looked into,
/// which makes the walk of a large, settled tree (`node_modules`) several times cheaper.
///
/// Only directories and regular files with a single link are handed over. A file with several
/// links may also live outside the tree (a clone from a local repository hard-links its
/// objects): giving it away would let the agent write the other copy. Such files stay the host's
/// and read-only to the agent, which is all git needs of its objects. Symlinks are left alone.
pub(crate) fn hand_over(
    root: &Path,
    host_uid: u32,
    to: HostId,
    changed_since: Option<i128>,
) -> std::io::Result<usize> {
    let mut changed = 0;
    walk(root, changed_since, |dir, name, stat| {
        if stat.st_uid != host_uid || !may_hand_over(stat) {
            return;
        }
        // Re-open without following and check it is still what we looked at: the agent may have
        // swapped the name for a symlink or a hard link to something else in between.
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::openat(dir, name, flags, Mode::empty()) else {
            return;
        };
        let Ok(now) = rustix::fs::fstat(&fd) else {
            return;
        };
        if now.st_ino != stat.st_ino || now.st_dev != stat.st_dev || !may_hand_over(&now) {
            return;
        }
        let owner = Some(rustix::fs::Uid::from_raw(to.uid));
        let group = Some(rustix::fs::Gid::from_raw(to.gid));
        if rustix::fs::chownat(&fd, c"", owner, group, AtFlags::EMPTY_PATH).is_ok() {
            changed += 1;
        }
    })?;
    Ok(changed)
}

fn may_hand_over(stat: &Stat) -> bool {
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => true,
        FileType::RegularFile => stat.st_nlink == 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn now() -> i128 {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        i128::try_from(since_epoch.unwrap().as_nanos()).unwrap()
    }

    #[test]
    fn usage_counts_blocks_and_never_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/data"), vec![7u8; 256 * 1024]).unwrap();
        let sparse = std::fs::File::create(dir.path().join("sparse")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        std::os::unix::fs::symlink("/usr", dir.path().join("usr")).unwrap();
        let used = disk_usage(dir.path()).unwrap();
        assert!(used >= 256 * 1024, "{used}");
        assert!(used < 4 << 20, "followed a symlink or counted the sparse file: {used}");
    }

    /// Needs root, like the backend's hand-over.
    #[test]
    fn hand_over_skips_links_and_settled_directories() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/file"), "x").unwrap();
        std::fs::write(outside.path().join("host-file"), "host").unwrap();
        std::fs::hard_link(outside.path().join("host-file"), root.join("a/linked")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("host-file"), root.join("a/sym")).unwrap();
        let target = HostId { uid: 200_888, gid: 200_888 };
        let uid = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap().uid();

        assert_eq!(hand_over(root, 0, target, None).unwrap(), 3, "a, a/b and a/b/file");
        assert_eq!((uid("a"), uid("a/b"), uid("a/b/file")), (200_888, 200_888, 200_888));
        assert_eq!((uid("a/linked"), uid("a/sym")), (0, 0), "links stay the host's");
        let host = std::fs::metadata(outside.path().join("host-file")).unwrap();
        assert_eq!((host.uid(), host.nlink()), (0, 2));

        // Nothing changed since: nothing is looked at...
        std::fs::write(root.join("a/b/new"), "y").unwrap();
        assert_eq!(hand_over(root, 0, target, Some(now() + 60_000_000_000)).unwrap(), 0);
        // ...but a directory that changed is, however deep.
        assert_eq!(
            hand_over(root, 0, target, Some(now() - 2_000_000_000)).unwrap(),
            1,
            "only a/b/new"
        );
        assert_eq!(uid("a/b/new"), 200_888);
    }
}
