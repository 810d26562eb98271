//! Escape attempts, each made from inside a real sandbox with `sh` or `python3`; each must fail.
//! Every test first shows that its attempt means something: the same thing works on the host
//! (only harmless variants are run there), or the target exists. Network probes create sockets
//! and send nothing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use drydock_sandbox::conformance::{run, sh, stdout};
use drydock_sandbox::NetworkMode;
use drydock_sandbox::{ExecRequest, LocalSandbox, Sandbox, SandboxHandle, SandboxSpec};
use tokio::sync::mpsc;

use crate::common::local_sandbox;

/// Runs a Python script in the sandbox; returns its stdout lines (stderr is appended to the
/// panic message when the script fails).
async fn python(sandbox: &LocalSandbox, handle: &SandboxHandle, script: &str) -> Vec<String> {
    let (outcome, lines) = run(sandbox, handle, ExecRequest::new(["python3", "-c", script])).await;
    let all: Vec<String> = lines.iter().map(|l| l.line.clone()).collect();
    assert_eq!(outcome.exit_code, Some(0), "python3 failed in the sandbox: {all:?}");
    stdout(&lines)
}

/// The same script on the host, as the test (root).
fn host_python(script: &str) -> Vec<String> {
    let out = Command::new("python3").args(["-c", script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Python that defines `call(nr, *args)` returning the errno of a raw system call (0 on
/// success).
const SYSCALL: &str = r#"
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(nr, *args):
    args = [ctypes.c_long(a) for a in args] + [ctypes.c_long(0)] * (6 - len(args))
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *args)
    return ctypes.get_errno() if r == -1 else 0
"#;

#[tokio::test]
async fn runs_as_the_leased_uid_never_root() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let caps = sandbox.capabilities();
    assert!(caps.own_uid && caps.syscall_filter, "{caps:?}");
    let handle = sandbox.create(SandboxSpec::new("uid-probe")).await.unwrap();
    let uid = sandbox.host_uid(&handle).unwrap();
    let range = crate::common::own_uids(drydock_sandbox::LocalSandboxConfig::new("/"));
    assert!(
        (range.uid_base..range.uid_base + range.uid_count).contains(&uid),
        "leased uid {uid} is from the configured range"
    );
    let (_, inside) = sh(&sandbox, &handle, "id -u; id -g; id -G; echo $HOME").await;
    assert_eq!(inside, ["1000", "1000", "1000", "/home/agent"]);

    // A long command, found from the host by a marker in its command line.
    let marker = format!("marker-{}", uuid::Uuid::new_v4().simple());
    let long = ExecRequest::new(["sh", "-c", "echo ready; sleep 30; : $0", &marker]);
    let (tx, mut rx) = mpsc::channel(8);
    let exec = {
        let sandbox = &sandbox;
        let handle = handle.clone();
        async move { sandbox.exec(&handle, long, tx).await }
    };
    let probe = async {
        assert_eq!(rx.recv().await.unwrap().line, "ready");
        let agent = shell_with(&marker);
        let mut seen = vec![("sandboxed shell", agent)];
        // Its ancestors up to the outer bwrap, the test's own child.
        let me = std::process::id();
        let mut pid = agent;
        while let Some(parent) = parent_of(pid).filter(|p| *p != me) {
            seen.push(("bwrap", parent));
            pid = parent;
        }
        assert!(seen.len() >= 3, "outer bwrap, its init and the shell: {seen:?}");
        for (what, pid) in seen {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let line = |name: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(name))
                    .unwrap()
                    .split_whitespace()
                    .skip(1)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            let want = vec![uid.to_string(); 4];
            assert_eq!(line("Uid:"), want, "host uids of the {what} ({pid})");
            assert_eq!(line("Gid:"), want, "host gids of the {what} ({pid})");
            assert!(line("Groups:").is_empty(), "supplementary groups of the {what}");
            assert_eq!(line("CapEff:"), ["0000000000000000"], "capabilities of the {what}");
        }
        sandbox.kill(&handle).await.unwrap();
    };
    let (outcome, ()) = tokio::join!(exec, probe);
    assert!(outcome.unwrap().stopped.is_some());
    sandbox.destroy(&handle).await.unwrap();
}

/// The host pid of the sandboxed `sh` whose command line holds `marker` (bwrap's own command
/// lines hold it too).
fn shell_with(marker: &str) -> u32 {
    let found: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            comm.trim() == "sh"
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect();
    // The shell may be forking `sleep` right now: that child is an `sh` too, for a moment.
    let top: Vec<u32> = found
        .iter()
        .copied()
        .filter(|pid| !parent_of(*pid).is_some_and(|p| found.contains(&p)))
        .collect();
    assert_eq!(top.len(), 1, "the sandboxed shell, seen from the host: {found:?}");
    top[0]
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn global_sysctls_cannot_be_written() {
    let host_value = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("sysctl-probe")).await.unwrap();
    // Write back exactly what was read, so that even a successful write would change nothing.
    let script = "v=$(cat /proc/sys/kernel/core_pattern) && echo \"read=$v\"; \
        if printf '%s\\n' \"$v\" > /proc/sys/kernel/core_pattern; then echo WROTE; else echo refused; fi; \
        if echo 1 > /proc/sys/kernel/ns_last_pid; then echo WROTE; else echo refused; fi; \
        grep -E ' /proc/sys ' /proc/self/mountinfo | grep -q ' ro,' && echo proc-sys-ro; \
        test -e /sys && echo HAS-SYS || echo no-sys";
    let (_, out) = sh(&sandbox, &handle, script).await;
    assert_eq!(
        out,
        [
            format!("read={}", host_value.trim_end()),
            "refused".into(),
            "refused".into(),
            "proc-sys-ro".into(),
            "no-sys".into()
        ],
        "the sandbox reads the real value, and cannot write it"
    );
    assert!(Path::new("/sys/kernel").is_dir(), "the host has a /sys the sandbox does not");
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(), host_value);
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn sysrq_trigger_is_out_of_reach() {
    let on_host = Path::new("/proc/sysrq-trigger").exists();
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("sysrq-probe")).await.unwrap();
    // `h` only prints help to the kernel log; it is never written on the host.
    let (_, out) = sh(
        &sandbox,
        &handle,
        "test -e /proc/sysrq-trigger && echo present || echo absent; \
         if echo h > /proc/sysrq-trigger; then echo WROTE; else echo refused; fi",
    )
    .await;
    let expected = if on_host { ["present", "refused"] } else { ["absent", "refused"] };
    assert_eq!(out, expected, "host has /proc/sysrq-trigger: {on_host}");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn a_root_only_file_in_a_mounted_directory_stays_unreadable() {
    let root = tempfile::tempdir().unwrap();
    let tools = tempfile::tempdir().unwrap();
    let secret = tools.path().join("secret");
    std::fs::write(&secret, "top secret").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::write(tools.path().join("public"), "public").unwrap();
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "top secret", "root reads it");
    let sandbox = local_sandbox(root.path()).await;
    let mut spec = SandboxSpec::new("secret-probe");
    spec.tools_dir = Some(tools.path().to_path_buf());
    let handle = sandbox.create(spec).await.unwrap();
    let (_, out) = sh(
        &sandbox,
        &handle,
        "cat /opt/drydock/tools/public; echo; ls /opt/drydock/tools/secret; \
         cat /opt/drydock/tools/secret || echo denied",
    )
    .await;
    assert_eq!(out, ["public", "/opt/drydock/tools/secret", "denied"]);
    let out = python(
        &sandbox,
        &handle,
        "try:\n  open('/opt/drydock/tools/secret').read(); print('READ')\n\
         except PermissionError: print('denied')",
    )
    .await;
    assert_eq!(out, ["denied"]);
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn another_sandbox_is_out_of_reach() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let a = sandbox.create(SandboxSpec::new("reach-a")).await.unwrap();
    let b = sandbox.create(SandboxSpec::new("reach-b")).await.unwrap();
    let (uid_a, uid_b) = (sandbox.host_uid(&a).unwrap(), sandbox.host_uid(&b).unwrap());
    assert_ne!(uid_a, uid_b, "each sandbox has a uid of its own");
    let (_, out) =
        sh(&sandbox, &b, "echo b-secret > private.txt && chmod 600 private.txt && echo ok").await;
    assert_eq!(out, ["ok"]);
    let b_file = b.host_workspace.clone().unwrap().join("private.txt");
    assert_eq!(std::fs::read_to_string(&b_file).unwrap(), "b-secret\n", "it exists");

    // B keeps a process running while A looks for it.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let marker = format!("b-process-{suffix}");
    let long = ExecRequest::new(["sh", "-c", "echo ready; sleep 30; : $0", &marker]);
    let (tx, mut rx) = mpsc::channel(8);
    let exec_b = {
        let (sandbox, b) = (&sandbox, b.clone());
        async move { sandbox.exec(&b, long, tx).await }
    };
    let probe = async {
        assert_eq!(rx.recv().await.unwrap().line, "ready");
        let b_pid = shell_with(&marker);
        // The marker is put together at run time, so that A's own command line does not hold it.
        let script = format!(
            "{SYSCALL}\nimport glob\n\
             marker = 'b-process-' + '{suffix}'\n\
             print('process', any(marker in open(p, errors='replace').read() \
                                  for p in glob.glob('/proc/[0-9]*/cmdline')))\n\
             print('path', os.path.exists('{file}'), os.path.exists('{root}'))\n\
             print('ptrace', call({ptrace}, 16, {b_pid}))\n\
             try:\n  os.kill({b_pid}, 0); print('signal', 0)\n\
             except OSError as e: print('signal', e.errno)",
            file = b_file.display(),
            root = root.path().display(),
            ptrace = libc::SYS_ptrace,
        );
        let out = python(&sandbox, &a, &script).await;
        assert_eq!(
            out,
            ["process False", "path False False", "ptrace 3", "signal 3"],
            "B's process, workspace and data directory are out of A's sight; by pid: ESRCH"
        );
        sandbox.kill(&b).await.unwrap();
    };
    let (outcome, ()) = tokio::join!(exec_b, probe);
    assert!(outcome.unwrap().stopped.is_some());
    sandbox.destroy(&a).await.unwrap();
    sandbox.destroy(&b).await.unwrap();
}

#[tokio::test]
async fn nested_user_namespaces_are_refused() {
    let host = Command::new("unshare").args(["-U", "true"]).status().unwrap();
    assert!(host.success(), "the host can make user namespaces, so the attempt means something");
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("userns-probe")).await.unwrap();
    let (_, out) = sh(
        &sandbox,
        &handle,
        "unshare -U true 2>/dev/null && echo NESTED || echo refused; \
         unshare -r id 2>/dev/null && echo NESTED || echo refused",
    )
    .await;
    assert_eq!(out, ["refused", "refused"]);
    // CLONE_NEWUSER through unshare(2) and clone(2) (with CLONE_FS, which the kernel refuses
    // anyway, so no process is made even if the filter let it through).
    let out = python(
        &sandbox,
        &handle,
        &format!(
            "{SYSCALL}\nprint('unshare', call({}, 0x10000000))\nprint('clone', call({}, 0x10000200))",
            libc::SYS_unshare,
            libc::SYS_clone
        ),
    )
    .await;
    assert_eq!(out, ["unshare 1", "clone 1"], "EPERM from the filter (not ENOSPC or EINVAL)");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn mounting_is_refused() {
    // In a namespace of its own, so the host's mounts are untouched.
    let host = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt"])
        .status()
        .unwrap();
    assert!(host.success(), "mounting works on the host");
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("mount-probe")).await.unwrap();
    let (_, out) = sh(
        &sandbox,
        &handle,
        "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo MOUNTED || echo refused; \
         mount --bind /workspace /tmp/m 2>/dev/null && echo MOUNTED || echo refused",
    )
    .await;
    assert_eq!(out, ["refused", "refused"]);
    let out = python(
        &sandbox,
        &handle,
        &format!(
            "{SYSCALL}\nname = ctypes.create_string_buffer(b'tmpfs')\n\
             print('fsopen', call({}, ctypes.addressof(name), 0))",
            libc::SYS_fsopen
        ),
    )
    .await;
    assert_eq!(out, ["fsopen 1"], "the new mount API is refused too");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn keyrings_are_refused() {
    // KEYCTL_GET_KEYRING_ID of the user keyring: harmless, and works for anyone on the host.
    let probe = format!("{SYSCALL}\nprint('keyctl', call({}, 0, -4, 0))", libc::SYS_keyctl);
    assert_eq!(host_python(&probe), ["keyctl 0"]);
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("keyctl-probe")).await.unwrap();
    assert_eq!(python(&sandbox, &handle, &probe).await, ["keyctl 1"]);
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn host_processes_cannot_be_traced() {
    let mut victim = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = victim.id();
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "the host process exists");
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("ptrace-probe")).await.unwrap();
    let script = format!(
        "{SYSCALL}\nimport glob\n\
         print('visible', any(open(p, 'rb').read() == b'sleep\\x0060\\x00' \
                              for p in glob.glob('/proc/[0-9]*/cmdline')))\n\
         print('exists', os.path.exists('/proc/{pid}'))\n\
         print('ptrace', call({}, 16, {pid}))\n\
         try:\n  os.kill({pid}, 0); print('signal', 0)\n\
         except OSError as e: print('signal', e.errno)",
        libc::SYS_ptrace
    );
    let out = python(&sandbox, &handle, &script).await;
    let _ = victim.kill();
    let _ = victim.wait();
    assert_eq!(out, ["visible False", "exists False", "ptrace 3", "signal 3"], "ESRCH by pid");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn raw_sockets_are_refused() {
    // Opening and closing a socket sends nothing.
    let probe = r#"
import socket
for name, args in [('packet', (socket.AF_PACKET, socket.SOCK_RAW, 0x0300)),
                   ('raw', (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))]:
    try:
        socket.socket(*args).close()
        print(name, 'opened')
    except PermissionError:
        print(name, 'refused')
"#;
    assert_eq!(host_python(probe), ["packet opened", "raw opened"], "root on the host can");
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    for network in [NetworkMode::Host, NetworkMode::None] {
        let mut spec = SandboxSpec::new(format!("raw-probe-{network:?}").to_lowercase());
        spec.network = network;
        let handle = sandbox.create(spec).await.unwrap();
        let out = python(&sandbox, &handle, probe).await;
        assert_eq!(out, ["packet refused", "raw refused"], "network {network:?}");
        sandbox.destroy(&handle).await.unwrap();
    }
}

#[tokio::test]
async fn the_seccomp_filter_refuses_its_list() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("seccomp-probe")).await.unwrap();
    let denied = LocalSandbox::denied_system_calls();
    assert!(denied.len() > 30);
    // Zero arguments: without the filter these fail with EFAULT, EINVAL or EBADF (or do nothing),
    // since the sandbox has no capabilities; with it, every one is EPERM.
    let calls: String =
        denied.iter().map(|(name, nr)| format!("print('{name}', call({nr}))\n")).collect();
    let out = python(&sandbox, &handle, &format!("{SYSCALL}\n{calls}")).await;
    let expected: Vec<String> = denied.iter().map(|(name, _)| format!("{name} 1")).collect();
    assert_eq!(out, expected);

    // The argument filters, each next to the same call on the host where that is harmless.
    let probe = format!(
        "{SYSCALL}\n\
         import fcntl, termios\n\
         fd = os.open('/dev/null', os.O_RDONLY)\n\
         c = ctypes.c_char(b'x')\n\
         print('tiocsti', call({ioctl}, fd, termios.TIOCSTI, ctypes.addressof(c)))\n\
         print('setns', call({setns}, -1, 0))\n\
         print('clone3', call({clone3}, 0, 0))\n\
         print('personality-query', call({personality}, 0xffffffff))\n",
        ioctl = libc::SYS_ioctl,
        setns = libc::SYS_setns,
        clone3 = libc::SYS_clone3,
        personality = libc::SYS_personality,
    );
    assert_eq!(
        host_python(&probe),
        ["tiocsti 25", "setns 9", "clone3 22", "personality-query 0"],
        "on the host: ENOTTY, EBADF, EINVAL (the kernel has clone3), allowed"
    );
    let out = python(&sandbox, &handle, &probe).await;
    assert_eq!(out, ["tiocsti 1", "setns 1", "clone3 38", "personality-query 0"], "EPERM, ENOSYS");
    let out = python(
        &sandbox,
        &handle,
        &format!("{SYSCALL}\nprint('personality', call({}, 0x0040000))", libc::SYS_personality),
    )
    .await;
    assert_eq!(out, ["personality 1"], "ADDR_NO_RANDOMIZE is not among the allowed values");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn toolchains_still_work() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let handle = sandbox.create(SandboxSpec::new("toolchains")).await.unwrap();
    let script = "set -e; \
        node -e 'const {Worker}=require(\"worker_threads\"); \
                 new Worker(\"require(`worker_threads`).parentPort.postMessage(6*7)\", {eval:true}) \
                 .on(\"message\", m => console.log(\"node\", m, require(\"os\").userInfo().username))'; \
        python3 -c 'import threading, subprocess, multiprocessing as mp\n\
t = threading.Thread(target=lambda: None); t.start(); t.join()\n\
print(\"python\", mp.Pool(2).map(abs, [-1, -2]), subprocess.run([\"true\"]).returncode)'; \
        printf 'int main(void){return 0;}' > t.c && cc -o t t.c && ./t && echo cc ok; \
        git init -q r && cd r && echo hi > f && git add f && \
        git -c user.name=A -c user.email=a@example.com commit -qm first && \
        git log --format=%s";
    let mut request = ExecRequest::new(["sh", "-c", script]);
    request.timeout = Some(Duration::from_secs(60));
    let (outcome, lines) = run(&sandbox, &handle, request).await;
    let all: Vec<String> = lines.iter().map(|l| l.line.clone()).collect();
    assert!(outcome.success(), "{outcome:?}: {all:?}");
    assert_eq!(stdout(&lines), ["node 42 agent", "python [1, 2] 0", "cc ok", "first"]);
    sandbox.destroy(&handle).await.unwrap();
}

/// Sanity of the probes' numbers, so a wrong constant cannot make a test pass by accident.
#[test]
fn probe_constants_are_the_kernels() {
    assert_eq!(libc::EPERM, 1);
    assert_eq!(libc::ESRCH, 3);
    assert_eq!(libc::ENOSYS, 38);
    assert_eq!(libc::CLONE_NEWUSER, 0x1000_0000);
    assert_eq!(libc::CLONE_FS, 0x200);
    assert_eq!(libc::PTRACE_ATTACH, 16);
    assert_eq!(libc::SYS_ptrace, if cfg!(target_arch = "x86_64") { 101 } else { 117 });
}
