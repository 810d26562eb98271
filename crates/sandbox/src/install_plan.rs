//! Which commands install a repository's dependencies, decided from its lockfiles.
//!
//! Pure: it looks at file names only; the worker runs the commands in the sandbox, in the
//! repository directory, in order.

use std::path::Path;

/// One command of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallStep {
    /// The lockfile that asked for it.
    pub lockfile: &'static str,
    /// Program and arguments, run without a shell.
    pub argv: Vec<String>,
}

/// JavaScript package managers, most specific lockfile first: a repository carrying several
/// lockfiles (a stale `package-lock.json` next to `pnpm-lock.yaml` is common) is installed once.
const JAVASCRIPT: &[(&str, &[&str])] = &[
    ("pnpm-lock.yaml", &["pnpm", "install", "--frozen-lockfile"]),
    ("bun.lock", &["bun", "install"]),
    ("bun.lockb", &["bun", "install"]),
    ("yarn.lock", &["yarn", "install", "--frozen-lockfile"]),
    ("package-lock.json", &["npm", "ci"]),
];

/// The install commands for a repository whose top-level file names are `files`.
pub fn install_plan<S: AsRef<str>>(files: &[S]) -> Vec<InstallStep> {
    let has = |name: &str| files.iter().any(|f| f.as_ref() == name);
    let step = |lockfile: &'static str, argv: &[&str]| InstallStep {
        lockfile,
        argv: argv.iter().map(|s| s.to_string()).collect(),
    };
    let mut plan = Vec::new();
    if let Some((lockfile, argv)) = JAVASCRIPT.iter().find(|(lock, _)| has(lock)) {
        plan.push(step(lockfile, argv));
    }
    if has("uv.lock") {
        plan.push(step("uv.lock", &["uv", "sync"]));
    } else if has("requirements.txt") {
        // The system Python is read-only in the sandbox (and "externally managed" on Debian),
        // so requirements go into a project virtualenv.
        plan.push(step("requirements.txt", &["python3", "-m", "venv", ".venv"]));
        plan.push(step(
            "requirements.txt",
            &[".venv/bin/pip", "install", "-r", "requirements.txt"],
        ));
    }
    if has("Cargo.lock") {
        plan.push(step("Cargo.lock", &["cargo", "fetch"]));
    }
    plan
}

/// [`install_plan`] for a checked-out repository directory.
pub fn install_plan_for_dir(dir: &Path) -> std::io::Result<Vec<InstallStep>> {
    let names: Vec<String> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    Ok(install_plan(&names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(files: &[&str]) -> Vec<String> {
        install_plan(files).into_iter().map(|s| s.argv.join(" ")).collect()
    }

    #[test]
    fn each_lockfile_maps_to_its_command() {
        assert_eq!(argvs(&["package-lock.json"]), ["npm ci"]);
        assert_eq!(argvs(&["pnpm-lock.yaml"]), ["pnpm install --frozen-lockfile"]);
        assert_eq!(argvs(&["yarn.lock"]), ["yarn install --frozen-lockfile"]);
        assert_eq!(argvs(&["bun.lockb"]), ["bun install"]);
        assert_eq!(argvs(&["bun.lock"]), ["bun install"]);
        assert_eq!(argvs(&["uv.lock", "requirements.txt"]), ["uv sync"]);
        assert_eq!(
            argvs(&["requirements.txt"]),
            ["python3 -m venv .venv", ".venv/bin/pip install -r requirements.txt"]
        );
        assert_eq!(argvs(&["Cargo.lock"]), ["cargo fetch"]);
    }

    #[test]
    fn one_javascript_manager_and_several_ecosystems() {
        assert_eq!(
            argvs(&["package-lock.json", "pnpm-lock.yaml", "Cargo.lock", "README.md"]),
            ["pnpm install --frozen-lockfile", "cargo fetch"]
        );
        assert!(argvs(&["README.md", "package.json"]).is_empty());
    }
}
