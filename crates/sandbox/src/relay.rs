//! The relay a brokered sandbox runs its commands under:
//! `relay --listen 127.0.0.1:PORT --socket /run/drydock/egress.sock -- COMMAND...`.
//!
//! A brokered sandbox has its own network namespace with only loopback, so nothing inside can
//! reach the host. The relay listens on `PORT` inside it and carries each TCP connection, byte
//! for byte, to the egress proxy's unix socket (bound into the sandbox), which is where policy
//! and credentials live; the relay itself decides nothing. Then it runs `COMMAND` as its child
//! and ends the way the child ends: same exit code, or the same signal.
//!
//! With `--expose-fd FD --expose-port PORT` it also serves ingress (a dev server's preview):
//! `FD` is a listening unix socket the host bound in a directory of its own and handed down;
//! each connection accepted on it is carried to `127.0.0.1:PORT` inside (see
//! [`crate::ingress`]). Either half may be used alone (`--listen`/`--socket` together, or the
//! expose pair), but not neither.
//!
//! It is on the path of every command, so it uses only the standard library and threads (no
//! runtime to start): listening is one `bind`, and each connection costs two threads.
//!
//! Signals: SIGINT and SIGTERM are blocked in the relay (so it outlives the child and reports
//! its status; the child gets them unblocked) and read from a signalfd. A signal sent from inside the sandbox reaches the child
//! through the relay. A signal from outside the sandbox's PID namespace (the kernel reports its
//! sender as pid 0) is not forwarded: Drydock's kill sends it to every process of the namespace,
//! so the child has its own copy already, and a second SIGINT would make many CLIs quit without
//! cleaning up.

use std::ffi::OsString;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};

use nix::sys::signal::{kill, raise, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

/// Exit code when the relay itself cannot start (bad arguments, cannot listen).
const EXIT_RELAY_FAILED: i32 = 125;
/// Exit code when the command cannot be run (as shells do).
const EXIT_CANNOT_RUN: i32 = 126;
/// Exit code when the command does not exist (as shells do).
const EXIT_NOT_FOUND: i32 = 127;
/// Each relayed connection runs on two small threads.
const THREAD_STACK: usize = 64 * 1024;

/// Parsed command line of the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayArgs {
    /// Egress: where to accept TCP connections (inside the sandbox) and the egress proxy's unix
    /// socket to carry them to.
    pub egress: Option<(SocketAddr, PathBuf)>,
    /// Ingress: an inherited listening unix socket and the inside port its connections go to.
    pub expose: Option<(RawFd, u16)>,
    /// The command to run, never empty.
    pub command: Vec<OsString>,
}

impl RelayArgs {
    /// Parses `[--listen ADDR --socket PATH] [--expose-fd FD --expose-port PORT] --
    /// COMMAND...` (the program name already removed).
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let (mut listen, mut socket) = (None, None);
        let (mut expose_fd, mut expose_port) = (None, None);
        loop {
            let Some(arg) = args.next() else {
                return Err("missing `-- COMMAND...`".into());
            };
            match arg.to_str() {
                Some("--") => break,
                Some("--listen") => {
                    let value = args.next().ok_or("--listen needs an address")?;
                    let text = value.to_str().ok_or("--listen is not UTF-8")?;
                    listen = Some(text.parse().map_err(|e| format!("--listen {text:?}: {e}"))?);
                }
                Some("--socket") => {
                    socket = Some(PathBuf::from(args.next().ok_or("--socket needs a path")?));
                }
                Some(flag @ ("--expose-fd" | "--expose-port")) => {
                    let value = args.next().ok_or(format!("{flag} needs a number"))?;
                    let text = value.to_str().ok_or(format!("{flag} is not UTF-8"))?;
                    let bad = |e: std::num::ParseIntError| format!("{flag} {text:?}: {e}");
                    if flag == "--expose-fd" {
                        expose_fd = Some(text.parse::<RawFd>().map_err(bad)?);
                    } else {
                        expose_port = Some(text.parse::<u16>().map_err(bad)?);
                    }
                }
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        let command: Vec<OsString> = args.collect();
        if command.is_empty() {
            return Err("no command after `--`".into());
        }
        let egress = match (listen, socket) {
            (Some(listen), Some(socket)) => Some((listen, socket)),
            (None, None) => None,
            _ => return Err("--listen and --socket go together".into()),
        };
        let expose = match (expose_fd, expose_port) {
            (Some(fd), Some(port)) if fd > 2 && port > 0 => Some((fd, port)),
            (None, None) => None,
            _ => return Err("--expose-fd (above 2) and --expose-port (not 0) go together".into()),
        };
        if egress.is_none() && expose.is_none() {
            return Err(
                "nothing to relay: give --listen/--socket or --expose-fd/--expose-port".into()
            );
        }
        Ok(Self { egress, expose, command })
    }
}

/// Entry point of a relay binary: `args` are its arguments without the program name (and,
/// for `drydock sandbox-relay`, without the subcommand). Never returns.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ! {
    let args = match RelayArgs::parse(args) {
        Ok(args) => args,
        Err(e) => fail(
            EXIT_RELAY_FAILED,
            &format!(
                "{e}; usage: [--listen ADDR --socket PATH] [--expose-fd FD --expose-port PORT] \
                 -- COMMAND..."
            ),
        ),
    };
    let status = match run(&args) {
        Ok(status) => status,
        Err(RunError::Relay(e)) => fail(EXIT_RELAY_FAILED, &e),
        Err(RunError::Spawn(e)) => {
            let code =
                if e.kind() == io::ErrorKind::NotFound { EXIT_NOT_FOUND } else { EXIT_CANNOT_RUN };
            fail(code, &format!("cannot run {:?}: {e}", args.command[0]))
        }
    };
    exit_like(status)
}

enum RunError {
    Relay(String),
    Spawn(io::Error),
}

/// Listens, runs the command and relays until it exits; returns its status.
fn run(args: &RelayArgs) -> Result<ExitStatus, RunError> {
    // Blocked before any thread or the child exists: every thread inherits the mask, and a
    // signal that arrives while the child starts waits for the signalfd instead of ending the
    // relay (and with it the sandbox).
    let forwarded = forwarded_signals();
    forwarded.thread_block().map_err(|e| RunError::Relay(format!("blocking signals: {e}")))?;
    let signals = SignalFd::with_flags(&forwarded, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| RunError::Relay(format!("signalfd: {e}")))?;
    // Bound before the command starts, so its first connection finds the port; connections
    // wait in the backlog until the accept thread runs.
    let egress = match &args.egress {
        Some((listen, socket)) => {
            let listener = TcpListener::bind(listen)
                .map_err(|e| RunError::Relay(format!("cannot listen on {listen}: {e}")))?;
            Some((listener, socket.clone()))
        }
        None => None,
    };
    // Taken (and closed on exec) before the command starts: the command has no business with
    // the host's socket.
    let expose = args.expose.map(|(fd, port)| take_listener(fd).map(|l| (l, port))).transpose()?;
    let mut child = spawn_unblocked(&args.command, forwarded).map_err(RunError::Spawn)?;
    let child_pid = i32::try_from(child.id()).map(Pid::from_raw).ok();
    // Without this thread signals stay blocked and pending, which is still safe.
    if let Err(e) = spawn_thread(move || forward_signals(&signals, child_pid)) {
        eprintln!("drydock relay: signals will not be forwarded: {e}");
    }
    if let Some((listener, socket)) = egress {
        if let Err(e) = spawn_thread(move || accept_loop(&listener, &socket)) {
            eprintln!("drydock relay: no network relay: {e}");
        }
    }
    if let Some((listener, port)) = expose {
        let serve = move || crate::ingress::serve(&listener, port, |unix, tcp| splice(tcp, unix));
        if let Err(e) = spawn_thread(serve) {
            eprintln!("drydock relay: no ingress relay: {e}");
        }
    }
    child.wait().map_err(|e| RunError::Relay(format!("waiting for the command: {e}")))
}

/// Adopts the inherited descriptor `fd` as a listening unix socket, marking it close-on-exec.
#[allow(unsafe_code)]
fn take_listener(fd: RawFd) -> Result<UnixListener, RunError> {
    let bad = |why: String| RunError::Relay(format!("--expose-fd {fd}: {why}"));
    // SAFETY: `fd` was handed to us by the host for this purpose and nothing else in this
    // process uses it; fcntl on a bad number fails instead of touching anything.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let stat = rustix::fs::fstat(borrowed).map_err(|e| bad(e.to_string()))?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Socket {
        return Err(bad("not a socket".into()));
    }
    rustix::io::fcntl_setfd(borrowed, rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| bad(e.to_string()))?;
    // SAFETY: checked to be an open socket above; ownership moves to the listener here, once.
    Ok(unsafe { UnixListener::from_raw_fd(fd) })
}

/// Starts the command with `blocked` unblocked again: a signal mask survives `exec`, and
/// `Command` does not reset it.
#[allow(unsafe_code)]
fn spawn_unblocked(command: &[OsString], blocked: SigSet) -> io::Result<Child> {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    // SAFETY: the closure runs in the forked child before `exec`. It only calls
    // `pthread_sigmask`, which is async-signal-safe, on a set copied in before the fork; it
    // does not allocate or lock.
    unsafe {
        cmd.pre_exec(move || blocked.thread_unblock().map_err(io::Error::from));
    }
    cmd.spawn()
}

fn forwarded_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

fn forward_signals(signals: &SignalFd, child: Option<Pid>) {
    while let Ok(info) = signals.read_signal() {
        let Some(info) = info else { continue };
        // pid 0: sent from outside our PID namespace, where Drydock signals every process.
        if info.ssi_pid == 0 {
            continue;
        }
        let signal = i32::try_from(info.ssi_signo).ok().and_then(|n| Signal::try_from(n).ok());
        if let (Some(child), Some(signal)) = (child, signal) {
            let _ = kill(child, signal);
        }
    }
}

fn accept_loop(listener: &TcpListener, socket: &Path) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors or the like: wait instead of spinning.
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        };
        let socket = socket.to_path_buf();
        // Out of threads: the connection is dropped, the client sees it closed.
        let _ = spawn_thread(move || relay_connection(stream, &socket));
    }
}

/// Carries one TCP connection to a fresh connection to the proxy.
fn relay_connection(tcp: TcpStream, socket: &Path) {
    let Ok(unix) = UnixStream::connect(socket) else {
        return;
    };
    splice(tcp, unix);
}

/// Copies both ways between a TCP connection and a unix one, passing each half-close on, until
/// both directions are done.
fn splice(tcp: TcpStream, unix: UnixStream) {
    // Small writes (SSE events, HMR messages) must not wait for Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    let (Ok(tcp_reader), Ok(unix_writer)) = (tcp.try_clone(), unix.try_clone()) else {
        return;
    };
    let upstream = spawn_thread(move || {
        let (mut from, mut to) = (tcp_reader, unix_writer);
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
    let (mut from, mut to) = (unix, tcp);
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    if let Ok(upstream) = upstream {
        let _ = upstream.join();
    }
}

fn spawn_thread(f: impl FnOnce() + Send + 'static) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().stack_size(THREAD_STACK).spawn(f)
}

/// Ends this process the way the child ended.
fn exit_like(status: ExitStatus) -> ! {
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    if let Some(number) = status.signal() {
        if let Ok(signal) = Signal::try_from(number) {
            // Restore the default action of a blocked signal, then let it end us.
            let _ = raise(signal);
            let mut set = SigSet::empty();
            set.add(signal);
            let _ = set.thread_unblock();
        }
        std::process::exit(128 + number);
    }
    std::process::exit(EXIT_RELAY_FAILED)
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("drydock relay: {message}");
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RelayArgs, String> {
        RelayArgs::parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_listen_socket_and_command() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:3128",
            "--socket",
            "/run/x.sock",
            "--",
            "sh",
            "-c",
            "--",
        ])
        .unwrap();
        assert_eq!(
            args.egress,
            Some(("127.0.0.1:3128".parse().unwrap(), PathBuf::from("/run/x.sock")))
        );
        assert_eq!(args.expose, None);
        assert_eq!(args.command, ["sh", "-c", "--"]);
        let args = parse(&["--expose-fd", "7", "--expose-port", "3000", "--", "npm"]).unwrap();
        assert_eq!((args.egress, args.expose), (None, Some((7, 3000))));
    }

    #[test]
    fn refuses_incomplete_command_lines() {
        for bad in [
            &["--listen", "127.0.0.1:1", "--socket", "/s"][..],
            &["--listen", "127.0.0.1:1", "--socket", "/s", "--"],
            &["--socket", "/s", "--", "true"],
            &["--listen", "127.0.0.1:1", "--", "true"],
            &["--listen", "127.0.0.1:1", "--expose-fd", "7", "--expose-port", "1", "--", "x"],
            &["--listen", "nowhere", "--socket", "/s", "--", "true"],
            &["--verbose", "--", "true"],
            &["--", "true"],
            &["--expose-fd", "7", "--", "true"],
            &["--expose-fd", "1", "--expose-port", "3000", "--", "true"],
            &["--expose-fd", "7", "--expose-port", "0", "--", "true"],
            &["--expose-fd", "x", "--expose-port", "3000", "--", "true"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
