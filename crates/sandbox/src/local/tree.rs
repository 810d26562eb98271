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
fn walk(root: &Path, mut visit: impl FnMut(BorrowedFd<'_>, &CStr, &Stat)) -> std::io::Result<()> {
    let top =
        rustix::fs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut pending = vec![PathBuf::from(".")];
    while let Some(rel) = pending.pop() {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::openat2(&top, &rel, flags, Mode::empty(), CONFINED) else {
            continue;
        };
        let Ok(names) = names(&fd) else {
            continue;
        };
        for name in names {
            let Ok(stat) = rustix::fs::statat(&fd, &name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            visit(fd.as_fd(), &name, &stat);
            if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
                pending.push(rel.join(OsStr::from_bytes(name.to_bytes())));
            }
        }
    }
    Ok(())
}

/// The entry names of a directory, without `.` and `..`.
fn names(dir: &OwnedFd) -> std::io::Result<Vec<CString>> {
    let mut reader = Dir::read_from(dir)?;
    let mut names = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Disk the tree below `root` takes, in bytes: allocated blocks, so sparse files count for what
/// they really use. Hard links count once per name (an overestimate only the agent pays for).
pub(crate) fn disk_usage(root: &Path) -> std::io::Result<u64> {
    let mut total: u64 = 0;
    walk(root, |_, _, stat| {
        let blocks = u64::try_from(stat.st_blocks).unwrap_or(0);
        total = total.saturating_add(blocks.saturating_mul(512));
    })?;
    Ok(total)
}

/// Gives the sandbox's identity the files and directories below `root` that the host (running
/// as `host_uid`) created there, such as a clone, a commit's objects or a configuration file, so
/// the agent can change them.
///
/// Only directories and regular files with a single link are handed over. A file with several
/// links may also live outside the tree (a clone from a local repository hard-links its
/// objects): giving it away would let the agent write the other copy. Such files stay the host's
/// and read-only to the agent, which is all git needs of its objects. Symlinks are left alone.
pub(crate) fn hand_over(root: &Path, host_uid: u32, to: HostId) -> std::io::Result<usize> {
    let mut changed = 0;
    walk(root, |dir, name, stat| {
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

    #[test]
    fn hand_over_skips_links_and_other_owners() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/file"), "x").unwrap();
        std::fs::write(outside.path().join("host-file"), "host").unwrap();
        std::fs::hard_link(outside.path().join("host-file"), root.join("a/linked")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("host-file"), root.join("a/sym")).unwrap();
        let me = rustix::process::getuid().as_raw();
        let target = HostId { uid: me, gid: rustix::process::getgid().as_raw() };
        // Handing over to ourselves changes nothing on disk but counts what would change.
        let changed = hand_over(root, me, target).unwrap();
        assert_eq!(changed, 3, "a, a/b and a/b/file; not the hard link or the symlink");
        let host = std::fs::metadata(outside.path().join("host-file")).unwrap();
        assert_eq!(host.nlink(), 2);
    }
}
