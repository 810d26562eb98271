//! The seccomp filter of every sandboxed command, compiled to BPF with `seccompiler` and handed
//! to bubblewrap (`--add-seccomp-fd`), which installs it right before it executes the command.
//!
//! It follows Docker's default profile where that profile refuses something to a process
//! without capabilities: the calls below reach kernel surface no agent, compiler or test runner
//! needs (keyrings, BPF, perf, userfaultfd, mounts, modules, kexec, clocks, swap, quotas, raw
//! I/O ports, file handles) and that has a long record of privilege escalations. They fail with
//! `EPERM`. Docker refuses them by allow-listing everything else; a deny list is used here so
//! that new, harmless system calls keep working as kernels and libcs adopt them.
//!
//! Beyond the plain list:
//! - `clone` and `unshare` with any namespace flag fail (`EPERM`): no nested user namespaces
//!   (bubblewrap's `--disable-userns` stops them too) and no other namespaces; `setns` fails.
//! - `clone3` fails with `ENOSYS`, so glibc and others fall back to `clone`, whose flags (unlike
//!   `clone3`'s, which sit behind a pointer) a filter can read.
//! - `ioctl(TIOCSTI)` and `ioctl(TIOCLINUX)` fail: they push input into a terminal.
//! - `personality` accepts only the values Docker allows.
//! - `io_uring_*` fail, as in Docker since 2023: a large, often-fixed attack surface. Runtimes
//!   that try it (libuv) fall back to threads.
//! - On x86_64 the x32 system call numbers fail (`ENOSYS`), so the list cannot be bypassed
//!   through the x32 ABI; other architectures' calls (i386 through `int 0x80`) end the process,
//!   because `seccompiler` checks the architecture first.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;
#[cfg(target_arch = "riscv64")]
const ARCH: TargetArch = TargetArch::riscv64;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
compile_error!("the sandbox's seccomp filter supports x86_64, aarch64 and riscv64 only");

/// System calls refused outright, by name (for reports and tests) and number.
/// (`c_long` is `i64` on every supported architecture.)
pub(crate) const DENIED: &[(&str, i64)] = &[
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("open_tree", libc::SYS_open_tree),
    ("move_mount", libc::SYS_move_mount),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("acct", libc::SYS_acct),
    ("clock_settime", libc::SYS_clock_settime),
    ("clock_adjtime", libc::SYS_clock_adjtime),
    ("settimeofday", libc::SYS_settimeofday),
    ("adjtimex", libc::SYS_adjtimex),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    #[cfg(target_arch = "x86_64")]
    ("iopl", libc::SYS_iopl),
    #[cfg(target_arch = "x86_64")]
    ("ioperm", libc::SYS_ioperm),
    ("quotactl", libc::SYS_quotactl),
    ("quotactl_fd", libc::SYS_quotactl_fd),
    ("syslog", libc::SYS_syslog),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    ("vhangup", libc::SYS_vhangup),
    ("setns", libc::SYS_setns),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
];

/// `personality` values Docker allows: `PER_LINUX`, `PER_LINUX32`, `UNAME26`, both, and the
/// query `0xffffffff`.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// Every `CLONE_NEW*` flag: cgroup, IPC, mount, network, PID, time, user, UTS.
const NAMESPACE_FLAGS: [libc::c_int; 8] = [
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWPID,
    0x80, // CLONE_NEWTIME (unshare only; for clone this bit belongs to the exit signal)
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWUTS,
];

/// The compiled programs, as the raw `struct sock_filter` arrays bubblewrap reads.
#[derive(Debug, Clone)]
pub(crate) struct Programs {
    /// The deny list and argument filters (`EPERM`).
    pub deny: Vec<u8>,
    /// `clone3` (and the x32 ABI on x86_64): `ENOSYS`.
    pub no_such_call: Vec<u8>,
}

/// Why the filter could not be built; only a bug in the rules above can cause it.
pub(crate) type Error = seccompiler::BackendError;

/// Builds both programs. Done once per backend.
pub(crate) fn programs() -> Result<Programs, Error> {
    Ok(Programs {
        deny: to_bytes(&deny_program()?),
        no_such_call: to_bytes(&no_such_call_program()?),
    })
}

fn deny_program() -> Result<BpfProgram, Error> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|(_, nr)| (*nr, Vec::new())).collect();

    // Refused unless the argument is one of the allowed values: one rule whose conditions
    // (all must hold) say "none of them".
    let not_allowed = PERSONALITIES
        .iter()
        .map(|value| dword(0, SeccompCmpOp::Ne, *value))
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_personality, vec![SeccompRule::new(not_allowed)?]);

    // The request number of ioctl is an `unsigned int`: compare the low 32 bits only, which is
    // also what the kernel looks at.
    let terminal_injection = [libc::TIOCSTI, libc::TIOCLINUX]
        .into_iter()
        .map(|request| SeccompRule::new(vec![dword(1, SeccompCmpOp::Eq, request)?]))
        .collect::<Result<Vec<_>, Error>>()?;
    rules.insert(libc::SYS_ioctl, terminal_injection);

    // One rule per namespace flag, any of which refuses the call.
    let namespace_rules = |flags: &[libc::c_int]| -> Result<Vec<SeccompRule>, Error> {
        flags
            .iter()
            .map(|flag| {
                let flag = u64::from(flag.unsigned_abs());
                SeccompRule::new(vec![dword(0, SeccompCmpOp::MaskedEq(flag), flag)?])
            })
            .collect()
    };
    let clone_flags: Vec<libc::c_int> =
        NAMESPACE_FLAGS.iter().copied().filter(|flag| *flag != 0x80).collect();
    rules.insert(libc::SYS_clone, namespace_rules(&clone_flags)?);
    rules.insert(libc::SYS_unshare, namespace_rules(&NAMESPACE_FLAGS)?);

    SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(errno(libc::EPERM)), ARCH)?
        .try_into()
}

fn no_such_call_program() -> Result<BpfProgram, Error> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let filter: BpfProgram = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno(libc::ENOSYS)),
        ARCH,
    )?
    .try_into()?;
    let mut program = x32_guard();
    program.extend(filter);
    Ok(program)
}

/// On x86_64, x32 system calls share the architecture value of x86_64 but carry bit 30 in their
/// number, so a filter keyed on plain numbers would miss them: refuse every such number before
/// the rest of the program runs. Elsewhere there is nothing to guard.
fn x32_guard() -> BpfProgram {
    if !cfg!(target_arch = "x86_64") {
        return Vec::new();
    }
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let insn = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        // Offsets into `struct seccomp_data`: the number at 0, the architecture at 4.
        insn(LD_W_ABS, 0, 0, 4),
        // Another architecture: skip to the program that follows (it refuses that too).
        insn(JEQ_K, 0, 3, AUDIT_ARCH_X86_64),
        insn(LD_W_ABS, 0, 0, 0),
        insn(JGE_K, 0, 1, X32_SYSCALL_BIT),
        insn(RET_K, 0, 0, SECCOMP_RET_ERRNO | errno(libc::ENOSYS)),
    ]
}

const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

fn errno(value: libc::c_int) -> u32 {
    value.unsigned_abs()
}

fn dword(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, Error> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
}

/// The program as bubblewrap reads it: `struct sock_filter` entries back to back, native endian.
fn to_bytes(program: &[sock_filter]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for insn in program {
        bytes.extend_from_slice(&insn.code.to_ne_bytes());
        bytes.push(insn.jt);
        bytes.push(insn.jf);
        bytes.extend_from_slice(&insn.k.to_ne_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_build_and_fit_the_kernel_limit() {
        let programs = programs().unwrap();
        for bytes in [&programs.deny, &programs.no_such_call] {
            assert_eq!(bytes.len() % 8, 0);
            // The kernel takes at most 4096 instructions per program.
            assert!(!bytes.is_empty() && bytes.len() / 8 <= 4096, "{} bytes", bytes.len());
        }
    }

    #[test]
    fn the_list_has_no_duplicates_and_names_what_the_brief_denies() {
        let mut numbers: Vec<_> = DENIED.iter().map(|(_, nr)| *nr).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), DENIED.len());
        for name in ["keyctl", "bpf", "mount", "open_tree", "kexec_load", "setns", "userfaultfd"] {
            assert!(DENIED.iter().any(|(n, _)| *n == name), "{name} missing");
        }
        // These are filtered on their arguments instead, never outright.
        for name in ["clone", "unshare", "ioctl", "personality", "clone3"] {
            assert!(!DENIED.iter().any(|(n, _)| *n == name), "{name} denied outright");
        }
    }

    #[test]
    fn the_x32_guard_jumps_stay_inside_the_program() {
        let guard = x32_guard();
        for (at, insn) in guard.iter().enumerate() {
            // A jump lands at most on the first instruction after the guard.
            assert!(at + 1 + usize::from(insn.jt.max(insn.jf)) <= guard.len());
        }
    }
}
