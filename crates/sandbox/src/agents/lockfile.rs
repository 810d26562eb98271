//! The committed npm lockfiles agent CLIs are installed from.
//!
//! Each npm-distributed agent has `agent-locks/<agent>/package.json` (one dependency: the pinned
//! package) and the `package-lock.json` npm generated for it, with an integrity hash for every
//! package. They are compiled into the binary, so a deployed server installs exactly what was
//! reviewed: npm refuses a tarball whose hash differs, and the installer refuses any installed
//! package the lock does not pin (`install::verify_locked`).
//!
//! Regenerate after changing a pinned version (the tests below fail until you do):
//! `cd crates/sandbox/agent-locks/<agent> && npm install --ignore-scripts && rm -r node_modules`
//! (a real install: `--package-lock-only` leaves platform packages out of the lock).

use shared::agents::AgentKind;

/// One agent's manifest and lockfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockfile {
    /// `package.json`.
    pub manifest: &'static str,
    /// `package-lock.json`.
    pub lock: &'static str,
}

macro_rules! lockfile {
    ($agent:literal) => {
        Some(Lockfile {
            manifest: include_str!(concat!("../../agent-locks/", $agent, "/package.json")),
            lock: include_str!(concat!("../../agent-locks/", $agent, "/package-lock.json")),
        })
    };
}

/// The lockfile an agent is installed from; `None` for agents not on npm.
pub fn lockfile(kind: AgentKind) -> Option<Lockfile> {
    match kind {
        AgentKind::Claude => lockfile!("claude"),
        AgentKind::Codex => lockfile!("codex"),
        AgentKind::Copilot => lockfile!("copilot"),
        AgentKind::Gemini => lockfile!("gemini"),
        AgentKind::Opencode => lockfile!("opencode"),
        AgentKind::Qwen => lockfile!("qwen"),
        AgentKind::Cursor => None,
    }
}

impl Lockfile {
    /// A short fingerprint of the lockfile, part of the install directory's name so that a new
    /// lockfile installs afresh instead of reusing what an older one put there. Not a security
    /// measure (npm checks the integrity hashes): FNV-1a is enough to tell versions apart.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.manifest.bytes().chain(self.lock.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{:08x}", hash >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::strategy_for;

    fn packages(lock: &Lockfile) -> serde_json::Map<String, serde_json::Value> {
        let json: serde_json::Value = serde_json::from_str(lock.lock).expect("lockfile is JSON");
        json["packages"].as_object().expect("lockfile v3 has packages").clone()
    }

    #[test]
    fn every_npm_agent_has_a_lockfile_pinning_its_spec_version() {
        for kind in AgentKind::ALL {
            let spec = strategy_for(kind).spec();
            let (Some(package), Some(lock)) = (spec.package, lockfile(kind)) else {
                assert!(spec.package.is_none(), "{kind:?} is on npm but has no lockfile");
                continue;
            };
            let manifest: serde_json::Value = serde_json::from_str(lock.manifest).unwrap();
            assert_eq!(
                manifest["dependencies"][package].as_str(),
                Some(spec.version),
                "{kind:?}: package.json must pin exactly {package}@{}",
                spec.version
            );
            let packages = packages(&lock);
            let root = &packages[&format!("node_modules/{package}")];
            assert_eq!(
                root["version"].as_str(),
                Some(spec.version),
                "{kind:?}: regenerate the lock"
            );
        }
    }

    #[test]
    fn every_locked_package_carries_an_integrity_hash() {
        for kind in AgentKind::ALL {
            let Some(lock) = lockfile(kind) else { continue };
            let packages = packages(&lock);
            assert!(packages.len() > 1, "{kind:?}: the lock lists no packages");
            for (path, entry) in packages.iter().filter(|(path, _)| !path.is_empty()) {
                let integrity = entry["integrity"].as_str().unwrap_or_default();
                assert!(
                    integrity.starts_with("sha512-"),
                    "{kind:?}: {path} has no sha512 integrity ({integrity:?})"
                );
            }
        }
    }

    #[test]
    fn fingerprints_differ_between_agents() {
        let prints: std::collections::BTreeSet<String> =
            AgentKind::ALL.iter().filter_map(|k| lockfile(*k)).map(|l| l.fingerprint()).collect();
        assert_eq!(prints.len(), 6);
    }
}
