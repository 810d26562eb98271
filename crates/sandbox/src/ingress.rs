//! Ingress: how the host reaches a port that a command listens on inside its sandbox (a dev
//! server), without the host network.
//!
//! The host binds a listening unix socket in a directory of its own that is never mounted into
//! any sandbox ([`bind`]), and hands the listening descriptor to the relay the command runs
//! under (`--expose-fd N --expose-port PORT`, see [`crate::relay`]). The relay accepts on it
//! inside the command's network namespace and connects each connection to `127.0.0.1:PORT`
//! there ([`serve`]). The host then connects to the socket's path ([`connect`]).
//!
//! Nothing of this is in the sandbox's file system: an agent cannot replace the socket, plant a
//! symlink in its place or put another socket next to it, because it cannot see the directory.
//! [`connect`] checks anyway that what it reaches is a socket the host itself made, in a
//! directory only the host can write, without following symlinks, so a mistake in where the
//! directory lives cannot turn into the host connecting wherever a symlink points.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{FileType, Mode, OFlags};

/// How long the relay waits for the inside port to accept a connection.
const INSIDE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds a listening socket at `path` for a relay to accept on. The parent directory must be
/// the host's own and writable by nobody else ([`check_private_dir`]); a stale socket left at
/// `path` by an earlier command is replaced, anything else there is an error.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    let (dir, name) = split(path)?;
    let dir_fd = open_private_dir(dir)?;
    match rustix::fs::statat(&dir_fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Socket => {
            rustix::fs::unlinkat(&dir_fd, name, rustix::fs::AtFlags::empty())?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    // Through the checked directory's descriptor: the same directory whatever happens to the
    // path meanwhile, and short enough for a socket address however deep the data directory.
    let mut through = PathBuf::from(format!("/proc/self/fd/{}", dir_fd.as_fd().as_raw_fd()));
    through.push(name);
    UnixListener::bind(through)
}

/// Connects to an ingress socket made by [`bind`], refusing anything else at `path`: a symlink
/// (never followed), a file that is not a socket, a socket another uid made, or a directory
/// others can write in.
pub fn connect(path: &Path) -> io::Result<UnixStream> {
    let (dir, name) = split(path)?;
    let dir_fd = open_private_dir(dir)?;
    let fd = rustix::fs::openat(
        &dir_fd,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Socket {
        return Err(refused(path, "is not a socket"));
    }
    if stat.st_uid != rustix::process::geteuid().as_raw() {
        return Err(refused(path, "is not a socket this process's user made"));
    }
    // Connecting through the descriptor reaches exactly the inode checked above, even if the
    // name is replaced in between.
    UnixStream::connect(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

/// The directory must be a real directory of this process's user that nobody else may write.
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    open_private_dir(dir).map(drop)
}

fn open_private_dir(dir: &Path) -> io::Result<OwnedFd> {
    let fd = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    check_private(&rustix::fs::fstat(&fd)?, dir)?;
    Ok(fd)
}

fn check_private(stat: &rustix::fs::Stat, dir: &Path) -> io::Result<()> {
    if stat.st_uid != rustix::process::geteuid().as_raw() {
        return Err(refused(dir, "is not owned by this process's user"));
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(refused(dir, "is writable by other users"));
    }
    Ok(())
}

fn split(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => Ok((dir, name)),
        _ => {
            Err(io::Error::new(io::ErrorKind::InvalidInput, "an ingress socket needs a directory"))
        }
    }
}

fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("refusing ingress socket {}: it {why}", path.display()),
    )
}

/// The relay's side: accepts on `listener` (inherited from the host) and carries each
/// connection to `port` on loopback inside the sandbox, IPv4 first, then IPv6 (servers that
/// bind `localhost` may get only `::1`). Runs until the listener fails.
pub fn serve(listener: &UnixListener, port: u16, relay: fn(UnixStream, TcpStream)) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let spawned = std::thread::Builder::new().stack_size(64 * 1024).spawn(move || {
            if let Some(tcp) = connect_inside(port) {
                relay(stream, tcp);
            }
        });
        // Out of threads: the connection is dropped, the host sees it closed.
        drop(spawned);
    }
}

fn connect_inside(port: u16) -> Option<TcpStream> {
    [SocketAddr::from((Ipv4Addr::LOCALHOST, port)), SocketAddr::from((Ipv6Addr::LOCALHOST, port))]
        .iter()
        .find_map(|addr| TcpStream::connect_timeout(addr, INSIDE_CONNECT_TIMEOUT).ok())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn connects_to_the_socket_it_bound() {
        let dir = private_dir();
        let path = dir.path().join("dev.sock");
        let listener = bind(&path).unwrap();
        let mut client = connect(&path).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        // Binding again replaces the stale socket.
        drop(listener);
        bind(&path).unwrap();
    }

    #[test]
    fn binds_beneath_a_data_directory_of_any_depth() {
        let dir = private_dir();
        let mut deep = dir.path().to_path_buf();
        for _ in 0..8 {
            deep.push("a-rather-long-directory-name");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let path = deep.join("0123456789abcdef0123456789abcdef.sock");
        assert!(path.as_os_str().len() > 108);
        let _listener = bind(&path).unwrap();
        connect(&path).unwrap();
    }

    #[test]
    fn never_follows_a_symlink_put_in_the_sockets_place() {
        let dir = private_dir();
        let elsewhere = private_dir();
        let target = elsewhere.path().join("other.sock");
        let _other = UnixListener::bind(&target).unwrap();
        let path = dir.path().join("dev.sock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(connect(&path).is_err(), "the symlink was followed");
        // Nor does bind remove or reuse what is not a socket.
        assert!(bind(&path).is_err());
        assert!(target.exists());
    }

    #[test]
    fn refuses_what_is_not_a_socket_and_shared_directories() {
        let dir = private_dir();
        let path = dir.path().join("dev.sock");
        std::fs::write(&path, b"x").unwrap();
        assert!(connect(&path).is_err());
        assert!(bind(&path).is_err());
        let shared = tempfile::tempdir().unwrap();
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(bind(&shared.path().join("dev.sock")).is_err());
        let linked = dir.path().join("dir-link");
        std::os::unix::fs::symlink(shared.path(), &linked).unwrap();
        assert!(connect(&linked.join("dev.sock")).is_err(), "a symlinked directory is refused");
    }

    #[test]
    fn refuses_a_socket_another_user_made() {
        let dir = private_dir();
        let path = dir.path().join("dev.sock");
        let _listener = bind(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(54_321), None)
            .expect("handing the socket to another uid needs root, as the escape tests do");
        assert!(connect(&path).is_err());
    }
}
