//! Changing files in a working tree that sandboxed code can change at the same time: the web
//! editor's list, read, write, new folder, rename, copy and delete.
//!
//! Every path goes through one resolution, [`Beneath::parent`]: the lexical check of
//! [`crate::files::validate_relative`] for a clear error, then the kernel's
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` for the parent directory, and a final
//! `*at` call on the last name that never follows it (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`,
//! `rename` and `unlink` act on the link itself). No symlink is followed anywhere, even one
//! that stays inside, so what the agent swaps in between two calls can only make a call fail,
//! never reach outside. Only regular files are read or written, opened non-blocking so a FIFO
//! cannot hang the caller, and both are capped.
//!
//! When the server runs as root, what it creates here is handed at once to the owner of the
//! root directory (the sandbox's uid), so that the agent can change it too.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, ResolveFlags};
use rustix::io::Errno;

use crate::files::validate_relative;

/// No symlink anywhere in the path, nothing outside the root.
const NO_LINKS: ResolveFlags =
    ResolveFlags::BENEATH.union(ResolveFlags::NO_SYMLINKS).union(ResolveFlags::NO_MAGICLINKS);

/// How deep [`Beneath::remove`] descends; deeper trees are refused rather than recursed into.
const MAX_DEPTH: usize = 64;

/// Why a workspace operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The path is not acceptable (absolute, `..`, a symlink, not a regular file, ...).
    #[error("{0}")]
    Invalid(String),
    /// Nothing is at the path (or at its parent).
    #[error("nothing at {0}")]
    NotFound(String),
    /// Something already is where a new entry would go.
    #[error("{0} already exists")]
    Exists(String),
    /// The file is bigger than the cap.
    #[error("{path} is larger than {limit} bytes")]
    TooLarge {
        /// The path.
        path: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// The host failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A result of [`Beneath`].
pub type EditResult<T> = std::result::Result<T, EditError>;

/// What kind of entry a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (never followed).
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name in the directory.
    pub name: String,
    /// What it is, by `lstat`.
    pub kind: EntryKind,
    /// Size in bytes (of the link itself for a symlink).
    pub size: u64,
}

/// A directory's entries, sorted directories first, then by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The entries, at most the limit asked for.
    pub entries: Vec<Entry>,
    /// Whether the directory held more.
    pub truncated: bool,
}

/// A working tree opened for changes: every operation resolves beneath it.
#[derive(Debug)]
pub struct Beneath {
    root: OwnedFd,
    /// Who new entries belong to, when this process may and must hand them over.
    owner: Option<(rustix::fs::Uid, rustix::fs::Gid)>,
}

impl Beneath {
    /// Opens `root`, which must be a directory. Blocking, like every method: call from a
    /// blocking thread.
    pub fn open(root: &Path) -> EditResult<Self> {
        let fd = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io(format!("opening {}", root.display()), e))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| io("inspecting the root", e))?;
        let me = rustix::process::geteuid();
        let owner = (me.is_root() && stat.st_uid != me.as_raw()).then(|| owner_of(&stat));
        Ok(Self { root: fd, owner })
    }

    /// The directory that holds `rel` and the last name, resolved without symlinks.
    fn parent(&self, rel: &str) -> EditResult<(OwnedFd, PathBuf, String)> {
        let clean = validate_relative(rel).map_err(|e| EditError::Invalid(reason_of(e)))?;
        let name = clean.file_name().map(PathBuf::from).unwrap_or_default();
        let parent = clean.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let fd = self.dir_at(parent, OFlags::PATH, rel)?;
        Ok((fd, name, clean.to_string_lossy().into_owned()))
    }

    fn dir_at(&self, path: &Path, mode: OFlags, rel: &str) -> EditResult<OwnedFd> {
        let flags = mode | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat2(&self.root, path, flags, Mode::empty(), NO_LINKS)
            .map_err(|e| at_error(e, rel, "open the folder of"))
    }

    /// Lists the directory `rel` (`""` for the root), at most `limit` entries.
    pub fn list(&self, rel: &str, limit: usize) -> EditResult<Listing> {
        let fd = if rel.is_empty() {
            self.dir_at(Path::new("."), OFlags::RDONLY, rel)?
        } else {
            let clean = validate_relative(rel).map_err(|e| EditError::Invalid(reason_of(e)))?;
            self.dir_at(&clean, OFlags::RDONLY, rel)?
        };
        let stat_dir = rustix::io::dup(&fd).map_err(|e| io("listing", e))?;
        let dir = rustix::fs::Dir::new(fd).map_err(|e| io(format!("listing {rel}"), e))?;
        let mut entries = Vec::new();
        let mut truncated = false;
        for entry in dir {
            let entry = entry.map_err(|e| io(format!("listing {rel}"), e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            if entries.len() == limit {
                truncated = true;
                break;
            }
            let Ok(stat) =
                rustix::fs::statat(&stat_dir, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
            else {
                continue; // gone since it was listed
            };
            entries.push(Entry {
                name: String::from_utf8_lossy(name).into_owned(),
                kind: kind_of(FileType::from_raw_mode(stat.st_mode)),
                size: u64::try_from(stat.st_size).unwrap_or(0),
            });
        }
        entries.sort_by(|a, b| {
            (a.kind != EntryKind::Directory, &a.name)
                .cmp(&(b.kind != EntryKind::Directory, &b.name))
        });
        Ok(Listing { entries, truncated })
    }

    /// Opens the regular file `rel` with `flags`; anything else is refused.
    fn open_regular(&self, rel: &str, flags: OFlags) -> EditResult<(OwnedFd, u64)> {
        let (parent, name, shown) = self.parent(rel)?;
        let flags = flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&parent, &name, flags, Mode::empty())
            .map_err(|e| at_error(e, &shown, "open"))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| io(format!("inspecting {shown}"), e))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(EditError::Invalid(format!("{shown} is not a regular file")));
        }
        Ok((fd, u64::try_from(stat.st_size).unwrap_or(0)))
    }

    /// Reads the regular file `rel` whole; a file over `max` bytes is refused.
    pub fn read(&self, rel: &str, max: u64) -> EditResult<Vec<u8>> {
        let (fd, size) = self.open_regular(rel, OFlags::RDONLY)?;
        if size > max {
            return Err(EditError::TooLarge { path: rel.to_owned(), limit: max });
        }
        let mut bytes = Vec::new();
        // The file may grow while it is read: never more than the cap plus one byte.
        std::fs::File::from(fd)
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| EditError::Io { context: format!("reading {rel}"), source: e })?;
        if bytes.len() as u64 > max {
            return Err(EditError::TooLarge { path: rel.to_owned(), limit: max });
        }
        Ok(bytes)
    }

    /// Writes `contents` to `rel`: replaces a regular file or creates one in an existing
    /// folder; with `create_only`, an existing entry is refused instead.
    pub fn write(&self, rel: &str, contents: &[u8], create_only: bool) -> EditResult<()> {
        let (parent, name, shown) = self.parent(rel)?;
        let created = rustix::fs::openat(
            &parent,
            &name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from(0o644),
        );
        let fd = match created {
            Ok(fd) => {
                self.hand_over(&fd);
                fd
            }
            Err(Errno::EXIST) if create_only => return Err(EditError::Exists(shown)),
            Err(Errno::EXIST) => {
                let (fd, _) = self.open_regular(rel, OFlags::WRONLY)?;
                rustix::fs::ftruncate(&fd, 0).map_err(|e| io(format!("truncating {shown}"), e))?;
                fd
            }
            Err(e) => return Err(at_error(e, &shown, "create")),
        };
        std::fs::File::from(fd)
            .write_all(contents)
            .map_err(|e| EditError::Io { context: format!("writing {shown}"), source: e })
    }

    /// Creates the folder `rel` in an existing folder.
    pub fn create_dir(&self, rel: &str) -> EditResult<()> {
        let (parent, name, shown) = self.parent(rel)?;
        rustix::fs::mkdirat(&parent, &name, Mode::from(0o755)).map_err(|e| match e {
            Errno::EXIST => EditError::Exists(shown.clone()),
            e => at_error(e, &shown, "create"),
        })?;
        if self.owner.is_some() {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            if let Ok(fd) = rustix::fs::openat(&parent, &name, flags, Mode::empty()) {
                self.hand_over(&fd);
            }
        }
        Ok(())
    }

    /// Renames or moves `from` to `to`, never replacing what is at `to`.
    pub fn rename(&self, from: &str, to: &str) -> EditResult<()> {
        let (from_dir, from_name, from_shown) = self.parent(from)?;
        let (to_dir, to_name, to_shown) = self.parent(to)?;
        rustix::fs::renameat_with(&from_dir, &from_name, &to_dir, &to_name, RenameFlags::NOREPLACE)
            .map_err(|e| match e {
                Errno::EXIST => EditError::Exists(to_shown),
                Errno::INVAL => EditError::Invalid(format!("{from_shown} cannot move into itself")),
                e => at_error(e, &from_shown, "move"),
            })
    }

    /// Copies the regular file `from` to a new file `to`; files over `max` are refused.
    pub fn copy(&self, from: &str, to: &str, max: u64) -> EditResult<()> {
        let contents = self.read(from, max)?;
        self.write(to, &contents, true)
    }

    /// Removes `rel`: a file or link itself, or a folder with everything in it.
    pub fn remove(&self, rel: &str) -> EditResult<()> {
        let (parent, name, shown) = self.parent(rel)?;
        remove_entry(&parent, name.as_os_str(), &shown, 0)
    }

    /// Hands a newly created entry to the root's owner (see the module doc). Failure only
    /// leaves the entry the server's; the next command's hand-over retries.
    fn hand_over(&self, fd: &OwnedFd) {
        if let Some((uid, gid)) = self.owner {
            if let Err(err) = rustix::fs::fchown(fd, Some(uid), Some(gid)) {
                tracing::warn!(%err, "handing a new entry to the sandbox");
            }
        }
    }
}

fn remove_entry(parent: &OwnedFd, name: &OsStr, shown: &str, depth: usize) -> EditResult<()> {
    let stat = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| at_error(e, shown, "inspect"))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return rustix::fs::unlinkat(parent, name, AtFlags::empty())
            .map_err(|e| at_error(e, shown, "remove"));
    }
    if depth >= MAX_DEPTH {
        return Err(EditError::Invalid(format!("{shown} is nested too deeply to remove")));
    }
    // O_NOFOLLOW and O_DIRECTORY: if a link was swapped in since the stat, the open fails.
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = rustix::fs::openat(parent, name, flags, Mode::empty())
        .map_err(|e| at_error(e, shown, "open"))?;
    let listing = rustix::io::dup(&dir).map_err(|e| io("removing", e))?;
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::new(listing).map_err(|e| io(format!("listing {shown}"), e))? {
        let entry = entry.map_err(|e| io(format!("listing {shown}"), e))?;
        let child = entry.file_name().to_bytes();
        if child != b"." && child != b".." {
            names.push(OsStr::from_bytes(child).to_owned());
        }
    }
    for child in names {
        let shown = format!("{shown}/{}", child.to_string_lossy());
        remove_entry(&dir, &child, &shown, depth + 1)?;
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(|e| at_error(e, shown, "remove"))
}

fn owner_of(stat: &rustix::fs::Stat) -> (rustix::fs::Uid, rustix::fs::Gid) {
    (rustix::fs::Uid::from_raw(stat.st_uid), rustix::fs::Gid::from_raw(stat.st_gid))
}

fn kind_of(file_type: FileType) -> EntryKind {
    match file_type {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Directory,
        FileType::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

fn reason_of(err: crate::SandboxError) -> String {
    match err {
        crate::SandboxError::InvalidPath { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn io(context: impl Into<String>, errno: Errno) -> EditError {
    EditError::Io { context: context.into(), source: errno.into() }
}

/// Maps what the kernel said about a path to what the user did wrong, where it was that.
fn at_error(errno: Errno, rel: &str, action: &str) -> EditError {
    match errno {
        Errno::NOENT => EditError::NotFound(rel.to_owned()),
        Errno::XDEV | Errno::LOOP => {
            EditError::Invalid(format!("{rel} goes through a symlink, which is never followed"))
        }
        Errno::NOTDIR => EditError::Invalid(format!("a part of {rel} is not a folder")),
        Errno::ISDIR => EditError::Invalid(format!("{rel} is a folder")),
        Errno::NXIO => EditError::Invalid(format!("{rel} is not a regular file")),
        Errno::NOTEMPTY => EditError::Exists(rel.to_owned()),
        Errno::NAMETOOLONG => EditError::Invalid(format!("{rel} is too long a name")),
        e => io(format!("cannot {action} {rel}"), e),
    }
}

#[cfg(test)]
mod tests;
