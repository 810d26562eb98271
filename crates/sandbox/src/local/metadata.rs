//! The on-disk record of a sandbox, `<root>/<id>/sandbox.json`.
//!
//! It is the only state a sandbox has, so any process sharing the data directory can re-open,
//! extend or garbage-collect it. Secrets do not belong in [`crate::SandboxSpec::env`]: it is
//! stored here (mode 0600); per-run secrets go in [`crate::ExecRequest::env`].

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::HostId;
use crate::error::{Result, SandboxError};
use crate::spec::{Limits, NetworkMode, ReadOnlyBind};

/// File name of the record inside a sandbox directory.
pub(crate) const FILE: &str = "sandbox.json";

/// Everything needed to run commands in, and to clean up, an existing sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Metadata {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Older records hold a boolean here; [`NetworkMode`] reads both.
    pub network: NetworkMode,
    pub env: Vec<(String, String)>,
    pub limits: Limits,
    pub tools_dir: Option<PathBuf>,
    /// Cgroup directories to remove on destroy.
    pub cgroups: Vec<PathBuf>,
    /// The host uid and gid commands run as. Absent in records written before sandboxes had
    /// uids of their own: such a sandbox is not reopened when the server is root.
    #[serde(default)]
    pub identity: Option<HostId>,
    /// The name its HOME is parked under when it is destroyed (see `SandboxSpec::home`).
    #[serde(default)]
    pub home: Option<String>,
    /// More host paths bound read-only (see `SandboxSpec::read_only`).
    #[serde(default)]
    pub read_only: Vec<ReadOnlyBind>,
}

impl Metadata {
    /// Reads the record of the sandbox in `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        let text = std::fs::read(&path)
            .map_err(|e| SandboxError::io(format!("reading {}", path.display()), e))?;
        serde_json::from_slice(&text).map_err(|e| {
            SandboxError::io(
                format!("parsing {}", path.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }

    /// Writes the record atomically (temporary file, then rename), so a reader never sees half.
    pub(crate) fn store(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(format!(".{FILE}.{}", uuid::Uuid::new_v4().simple()));
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| SandboxError::io("encoding sandbox metadata", std::io::Error::other(e)))?;
        let write = || -> std::io::Result<()> {
            let mut file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, dir.join(FILE))
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            SandboxError::io(format!("writing metadata of sandbox {}", self.id), e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_before_network_modes_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"id":"t1","created_at":"2026-11-20T10:00:00Z","expires_at":"2026-11-21T10:00:00Z",
            "network":true,"env":[],"limits":{"max_processes":512,"max_file_size_bytes":null,
            "memory_bytes":null,"address_space_bytes":null},"tools_dir":null,"cgroups":[]}"#;
        std::fs::write(dir.path().join(FILE), old).unwrap();
        assert_eq!(Metadata::load(dir.path()).unwrap().network, NetworkMode::Host);
        std::fs::write(dir.path().join(FILE), old.replace("true", "false")).unwrap();
        assert_eq!(Metadata::load(dir.path()).unwrap().network, NetworkMode::None);
    }
}
