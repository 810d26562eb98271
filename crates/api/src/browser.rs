//! Browser automation for agents (`enable_browser` on a task): the host's Chromium and a browser
//! MCP server (`@playwright/mcp`, pinned in `tools/browser-mcp/package-lock.json` and installed
//! by `scripts/install-deps.sh` with `npm ci --ignore-scripts`), both bound read-only into the
//! task's sandbox, and the server registered with the agent as a stdio MCP server.
//!
//! Chromium runs headless with `--no-sandbox`: its own sandbox needs user namespaces or a setuid
//! helper, and the task's sandbox allows neither (no nested user namespaces, seccomp). The
//! bubblewrap sandbox around it is the boundary, exactly as for every other process of the task:
//! its own network namespace (brokered: the egress proxy is the only way out), its own uid, the
//! host's files read-only, a private HOME and `/tmp` where the browser profile lives. See
//! docs/security.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sandbox::agents::{McpServer, McpTransport};
use sandbox::ReadOnlyBind;

use crate::config::BrowserSettings;

/// The MCP server's name, as the agent sees it (`mcp__browser__browser_navigate` in Claude).
pub const MCP_NAME: &str = "browser";
/// Where the MCP package directory appears inside the sandbox.
const MCP_IN_SANDBOX: &str = "/opt/drydock/browser";
/// The server's entry point, relative to the package directory.
const MCP_CLI: &str = "node_modules/@playwright/mcp/cli.js";
/// Host configuration Chromium reads (Debian's launcher flags and policies, fontconfig); the
/// sandbox shares only a few named files of `/etc`, so these come in with the browser.
const CHROMIUM_CONFIG: &[&str] = &["/etc/chromium", "/etc/chromium.d", "/etc/fonts"];
/// Host directories every sandbox already sees read-only: a browser installed there needs no
/// bind of its own.
const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64"];
/// Where the browser writes snapshots and console logs: the sandbox's private `/tmp`, never
/// the repository (it would be committed).
const OUTPUT_DIR: &str = "/tmp/drydock-browser";

/// The browser automation this server can give an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserTools {
    chromium: PathBuf,
    mcp_dir: PathBuf,
}

/// What this host has, or why browser automation is unavailable (shown to users as is, so it
/// names settings, never more of the host than the configured paths).
pub fn detect(settings: &BrowserSettings) -> Result<BrowserTools, String> {
    if !settings.enabled {
        return Err("browser automation is turned off on this server (browser.enabled)".into());
    }
    if !is_executable(&settings.chromium) {
        return Err(format!(
            "Chromium is not installed on this server (no executable at {}; install it or set \
             browser.chromium)",
            settings.chromium.display()
        ));
    }
    if !settings.mcp_dir.join(MCP_CLI).is_file() {
        return Err(format!(
            "the browser MCP server is not installed in {} (run scripts/install-deps.sh or set \
             browser.mcp_dir)",
            settings.mcp_dir.display()
        ));
    }
    Ok(BrowserTools { chromium: settings.chromium.clone(), mcp_dir: settings.mcp_dir.clone() })
}

/// What a sandbox for a task gets bound read-only: nothing unless the task asks for the
/// browser; the reason, for the user, when it does and this server no longer can.
pub fn binds_for(
    settings: &BrowserSettings,
    enable_browser: bool,
) -> Result<Vec<ReadOnlyBind>, String> {
    if !enable_browser {
        return Ok(Vec::new());
    }
    detect(settings).map(|tools| tools.binds()).map_err(unavailable)
}

/// The run's failure when a task asks for a browser this server cannot give any more.
pub fn unavailable(reason: String) -> String {
    format!("The task asks for a browser, but {reason}.")
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl BrowserTools {
    /// What the sandbox gets bound read-only: the MCP package, Chromium's configuration and,
    /// for a Chromium outside the system directories, its install directory.
    pub fn binds(&self) -> Vec<ReadOnlyBind> {
        let mut binds = vec![ReadOnlyBind {
            source: self.mcp_dir.clone(),
            target: PathBuf::from(MCP_IN_SANDBOX),
        }];
        binds.extend(
            CHROMIUM_CONFIG
                .iter()
                .map(Path::new)
                .filter(|p| p.is_dir())
                .map(ReadOnlyBind::same_path),
        );
        let real = std::fs::canonicalize(&self.chromium).unwrap_or_else(|_| self.chromium.clone());
        for binary in [&self.chromium, &real] {
            let outside = !SYSTEM_DIRS.iter().any(|dir| binary.starts_with(dir));
            if let (true, Some(dir)) = (outside, binary.parent()) {
                let bind = ReadOnlyBind::same_path(dir);
                if !binds.contains(&bind) {
                    binds.push(bind);
                }
            }
        }
        binds
    }

    /// The stdio MCP server the agent starts inside the sandbox. With a brokered network the
    /// browser's traffic goes to the egress proxy like everything else; loopback (pages the
    /// task serves itself in the sandbox's own network namespace) is reached directly.
    pub fn mcp_server(&self, brokered: bool) -> McpServer {
        let mut args = vec![
            format!("{MCP_IN_SANDBOX}/{MCP_CLI}"),
            "--headless".into(),
            "--executable-path".into(),
            self.chromium.to_string_lossy().into_owned(),
            // The bubblewrap sandbox is the boundary; Chromium's own cannot start inside it.
            "--no-sandbox".into(),
            // The profile stays in memory (and the private /tmp), never on the host.
            "--isolated".into(),
            "--output-dir".into(),
            OUTPUT_DIR.into(),
        ];
        if brokered {
            let proxy = format!("http://127.0.0.1:{}", sandbox::EGRESS_PORT);
            // Naming loopback in the bypass list keeps Playwright from sending loopback through
            // the proxy, which would refuse it.
            args.extend([
                "--proxy-server".into(),
                proxy,
                "--proxy-bypass".into(),
                "localhost,127.0.0.1,[::1]".into(),
            ]);
        }
        McpServer {
            name: MCP_NAME.into(),
            transport: McpTransport::Local { command: "node".into(), args, env: BTreeMap::new() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(chromium: &Path, mcp_dir: &Path) -> BrowserSettings {
        BrowserSettings { enabled: true, chromium: chromium.into(), mcp_dir: mcp_dir.into() }
    }

    fn installed() -> (tempfile::TempDir, BrowserSettings) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let chromium = dir.path().join("chrome-linux/chrome");
        std::fs::create_dir_all(chromium.parent().unwrap()).unwrap();
        std::fs::write(&chromium, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&chromium, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mcp = dir.path().join("mcp");
        let cli = mcp.join(MCP_CLI);
        std::fs::create_dir_all(cli.parent().unwrap()).unwrap();
        std::fs::write(&cli, "").unwrap();
        let s = settings(&chromium, &mcp);
        (dir, s)
    }

    #[test]
    fn unavailable_names_what_is_missing() {
        let (_dir, good) = installed();
        assert!(detect(&good).is_ok());
        let missing = settings(Path::new("/nonexistent/chromium"), &good.mcp_dir);
        assert!(detect(&missing).unwrap_err().contains("Chromium is not installed"));
        let no_mcp = settings(&good.chromium, Path::new("/nonexistent/mcp"));
        assert!(detect(&no_mcp).unwrap_err().contains("browser MCP server is not installed"));
        let off = BrowserSettings { enabled: false, ..good };
        assert!(detect(&off).unwrap_err().contains("browser.enabled"));
    }

    #[test]
    fn everything_bound_is_read_only_and_outside_the_sandboxes_own_directories() {
        let (_dir, s) = installed();
        let tools = detect(&s).unwrap();
        let binds = tools.binds();
        assert_eq!(binds[0].target, Path::new(MCP_IN_SANDBOX));
        let install = s.chromium.parent().unwrap();
        let chromium = binds.iter().find(|b| b.source == install).expect("the install is bound");
        assert_eq!(chromium.target, install, "at the same path");
        // This fixture lives in /tmp, which is the sandbox's own: such a bind is refused when
        // the sandbox is created. Every other bind is valid.
        assert!(chromium.validate().is_err());
        for bind in binds.iter().filter(|b| b.source != install) {
            bind.validate().unwrap();
        }
    }

    #[test]
    fn the_browser_goes_through_the_proxy_except_for_loopback() {
        let (_dir, s) = installed();
        let server = detect(&s).unwrap().mcp_server(true);
        let McpTransport::Local { command, args, .. } = server.transport else { panic!() };
        assert_eq!(command, "node");
        let joined = args.join(" ");
        assert!(joined.contains("--headless"));
        assert!(joined.contains("--no-sandbox --isolated"));
        assert!(joined.contains("--proxy-server http://127.0.0.1:3128"));
        assert!(joined.contains("--proxy-bypass localhost,127.0.0.1,[::1]"));
        let McpTransport::Local { args, .. } = detect(&s).unwrap().mcp_server(false).transport
        else {
            panic!()
        };
        assert!(!args.iter().any(|a| a == "--proxy-server"));
    }
}
