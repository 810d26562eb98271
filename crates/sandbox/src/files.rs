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

/// What [`read_regular_beneath`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// The first bytes of the file, at most the limit asked for.
    pub bytes: Vec<u8>,
    /// The file's whole size.
    pub size: u64,
    /// Whether `bytes` stops before the end of the file.
    pub truncated: bool,
}

/// Reads at most `max` bytes of the **regular** file `rel` beneath `root`: the host's reader
/// of files an agent wrote. A FIFO, socket or device is refused before any read (opening is
/// non-blocking, so a FIFO cannot hang the caller), and a huge or sparse file costs `max` bytes.
/// Blocking: call it from a blocking thread.
pub fn read_regular_beneath(root: &Path, rel: &str, max: u64) -> Result<FileRead> {
    let clean = validate_relative(rel)?;
    let dir = open_root(root)?;
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::openat2(&dir, &clean, flags, Mode::empty(), BENEATH)
        .map_err(|e| map_errno(e, rel, "open"))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| map_errno(e, rel, "inspect"))?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(SandboxError::invalid_path(rel, "it is not a regular file"));
    }
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(max)
        .read_to_end(&mut bytes)
        .map_err(|e| SandboxError::io(format!("reading {rel}"), e))?;
    Ok(FileRead { truncated: size > bytes.len() as u64, bytes, size })
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
    fn only_regular_files_are_read_and_only_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("small.txt"), "hello").unwrap();
        let read = read_regular_beneath(dir.path(), "small.txt", 1024).unwrap();
        assert_eq!((read.bytes.as_slice(), read.size, read.truncated), (&b"hello"[..], 5, false));
        // A 4 GiB sparse file costs only the cap.
        let huge = std::fs::File::create(dir.path().join("huge.bin")).unwrap();
        huge.set_len(4 << 30).unwrap();
        let read = read_regular_beneath(dir.path(), "huge.bin", 1000).unwrap();
        assert_eq!((read.bytes.len(), read.size, read.truncated), (1000, 4 << 30, true));
        // A FIFO would block a plain open forever; here it is refused at once.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("fifo"),
            rustix::fs::FileType::Fifo,
            Mode::from(0o644),
            0,
        )
        .unwrap();
        let err = read_regular_beneath(dir.path(), "fifo", 1000).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(read_regular_beneath(dir.path(), "sub", 1000).is_err());
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
