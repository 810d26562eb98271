//! Reading and writing files strictly beneath a directory on the host.
//!
//! Paths are checked twice: lexically (relative, no `..`) for a clear error, and by the kernel
//! with `openat2(RESOLVE_BENEATH)`, which refuses any resolution that leaves the directory,
//! including through symlinks the sandboxed code may have planted, without a check-then-use race.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{Result, SandboxError};

const BENEATH: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

/// Checks that `path` is a plain relative path and returns its normal components.
pub fn validate_relative(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    if path.is_empty() {
        return Err(SandboxError::invalid_path(p, "the path is empty"));
    }
    let mut clean = PathBuf::new();
    for component in p.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(SandboxError::invalid_path(p, "'..' is not allowed"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(SandboxError::invalid_path(
                    p,
                    "absolute paths are not allowed; give a path relative to the sandbox directory",
                ));
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(SandboxError::invalid_path(p, "the path names no file"));
    }
    Ok(clean)
}

/// Reads `rel` beneath `root`.
pub fn read_beneath(root: &Path, rel: &str) -> Result<Vec<u8>> {
    let clean = validate_relative(rel)?;
    let dir = open_root(root)?;
    let fd =
        rustix::fs::openat2(&dir, &clean, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty(), BENEATH)
            .map_err(|e| map_errno(e, rel, "open"))?;
    let mut contents = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut contents)
        .map_err(|e| SandboxError::io(format!("reading {rel}"), e))?;
    Ok(contents)
}

/// Writes `rel` beneath `root`, creating missing parent directories, replacing the file.
pub fn write_beneath(root: &Path, rel: &str, contents: &[u8]) -> Result<()> {
    let clean = validate_relative(rel)?;
    let dir = open_root(root)?;
    let mut prefix = PathBuf::new();
    if let Some(parent) = clean.parent() {
        for part in parent.components() {
            prefix.push(part);
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            match rustix::fs::openat2(&dir, &prefix, flags, Mode::empty(), BENEATH) {
                Ok(_) => {}
                Err(Errno::NOENT) => {
                    // Create it relative to an already-checked parent, then re-check on the
                    // next iteration or the final open.
                    let parent_fd = match prefix.parent().filter(|p| !p.as_os_str().is_empty()) {
                        Some(p) => rustix::fs::openat2(&dir, p, flags, Mode::empty(), BENEATH)
                            .map_err(|e| map_errno(e, rel, "open directory"))?,
                        None => rustix::fs::openat2(&dir, ".", flags, Mode::empty(), BENEATH)
                            .map_err(|e| map_errno(e, rel, "open directory"))?,
                    };
                    match rustix::fs::mkdirat(&parent_fd, part.as_os_str(), Mode::from(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(map_errno(e, rel, "create directory")),
                    }
                }
                Err(e) => return Err(map_errno(e, rel, "open directory")),
            }
        }
    }
    let fd = rustix::fs::openat2(
        &dir,
        &clean,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from(0o644),
        BENEATH,
    )
    .map_err(|e| map_errno(e, rel, "create"))?;
    std::fs::File::from(fd)
        .write_all(contents)
        .map_err(|e| SandboxError::io(format!("writing {rel}"), e))
}

fn open_root(root: &Path) -> Result<rustix::fd::OwnedFd> {
    rustix::fs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| SandboxError::io(format!("opening {}", root.display()), e.into()))
}

fn map_errno(errno: Errno, rel: &str, action: &str) -> SandboxError {
    if errno == Errno::XDEV {
        SandboxError::invalid_path(rel, "it leads outside the sandbox through a symlink")
    } else if errno == Errno::LOOP {
        SandboxError::invalid_path(rel, "too many symlinks")
    } else {
        SandboxError::io(format!("cannot {action} {rel}"), errno.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_absolute_parent_and_empty_paths() {
        for bad in ["/etc/passwd", "../x", "a/../../x", "", "."] {
            assert!(
                matches!(validate_relative(bad), Err(SandboxError::InvalidPath { .. })),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(validate_relative("./a/b").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn writes_and_reads_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        write_beneath(dir.path(), "a/b/c.txt", b"hello").unwrap();
        assert_eq!(read_beneath(dir.path(), "a/b/c.txt").unwrap(), b"hello");
    }

    #[test]
    fn symlink_escapes_are_rejected() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        for path in ["link/secret", "passwd"] {
            let err = read_beneath(dir.path(), path).unwrap_err();
            assert!(matches!(err, SandboxError::InvalidPath { .. }), "{err}");
        }
        let err = write_beneath(dir.path(), "link/new/file", b"x").unwrap_err();
        assert!(matches!(err, SandboxError::InvalidPath { .. }), "{err}");
        assert!(!outside.path().join("new").exists());
    }
}
