//! How a repository serves itself: the dev server command and the port to preview.
//!
//! In order: the task's own `dev_command`; `package.json` scripts `dev`, then `start` (run with
//! the package manager its lockfile names); a `Procfile`'s `web:` line. Nothing else: a static
//! file server as a last resort would preview something the repository never asked for, so
//! the answer is then "no dev server found".
//!
//! Drydock gives the command `PORT` and previews that port: the task's `dev_port`, else the
//! port the command names itself (`--port 8080`, `-p 8080`), else the framework's own default
//! when the command starts one that ignores `PORT` (Vite 5173, Astro 4321, Angular 4200,
//! Gatsby 8000), else 3000.

use serde_json::Value;
use shared::preview::DEFAULT_DEV_PORT;

/// What to run and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCommand {
    /// The program and its arguments (never a string for a shell, except the task's own
    /// `dev_command` and a `Procfile` line, which are shell commands by definition).
    pub argv: Vec<String>,
    /// How it is shown to the user.
    pub display: String,
    /// The port previewed and given as `PORT`.
    pub port: u16,
    /// Where it came from: `dev_command`, `package.json`, `Procfile`.
    pub source: &'static str,
}

/// The repository files detection looks at (each absent when the file is missing).
#[derive(Debug, Default, Clone)]
pub struct RepoFiles {
    /// `package.json`.
    pub package_json: Option<String>,
    /// `Procfile`.
    pub procfile: Option<String>,
    /// Which lockfiles exist: `pnpm-lock.yaml`, `yarn.lock`, `bun.lockb`/`bun.lock`.
    pub lockfiles: Vec<&'static str>,
}

/// Lockfiles that pick a package manager other than npm, and the manager.
pub const LOCKFILES: [(&str, &str); 4] =
    [("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"), ("bun.lock", "bun")];

/// Decides the dev server, or `None` for "no dev server found".
pub fn detect(
    files: &RepoFiles,
    dev_command: Option<&str>,
    dev_port: Option<u16>,
) -> Option<DevCommand> {
    if let Some(command) = dev_command.map(str::trim).filter(|c| !c.is_empty()) {
        return Some(shell(command, dev_port, "dev_command"));
    }
    if let Some(found) = files.package_json.as_deref().and_then(|p| from_package_json(p, files)) {
        let (argv, script_text) = found;
        let port = dev_port.unwrap_or_else(|| port_for(&script_text));
        return Some(DevCommand { display: argv.join(" "), argv, port, source: "package.json" });
    }
    let web = files.procfile.as_deref().and_then(procfile_web)?;
    Some(shell(&web, dev_port, "Procfile"))
}

fn shell(command: &str, dev_port: Option<u16>, source: &'static str) -> DevCommand {
    DevCommand {
        argv: vec!["sh".into(), "-c".into(), command.to_owned()],
        display: command.to_owned(),
        port: dev_port.unwrap_or_else(|| port_for(command)),
        source,
    }
}

/// `npm run dev` (or `start`), with the lockfile's package manager; and the script's text.
fn from_package_json(text: &str, files: &RepoFiles) -> Option<(Vec<String>, String)> {
    let json: Value = serde_json::from_str(text).ok()?;
    let scripts = json.get("scripts")?.as_object()?;
    let (name, body) = ["dev", "start"]
        .iter()
        .find_map(|name| Some((*name, scripts.get(*name)?.as_str()?.trim())))
        .filter(|(_, body)| !body.is_empty())?;
    let manager = LOCKFILES
        .iter()
        .find(|(lock, _)| files.lockfiles.contains(lock))
        .map_or("npm", |(_, manager)| manager);
    Some((vec![manager.to_owned(), "run".to_owned(), name.to_owned()], body.to_owned()))
}

fn procfile_web(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (kind, command) = line.split_once(':')?;
        (kind.trim() == "web").then(|| command.trim().to_owned()).filter(|c| !c.is_empty())
    })
}

/// The port a command will listen on: the one it names, else its framework's default when
/// that framework ignores `PORT`, else [`DEFAULT_DEV_PORT`] (which Drydock passes as `PORT`).
pub fn port_for(command: &str) -> u16 {
    if let Some(port) = named_port(command) {
        return port;
    }
    let words: Vec<&str> =
        command.split(|c: char| c.is_whitespace() || c == '&' || c == ';').collect();
    let runs = |tool: &str| words.iter().any(|w| *w == tool || w.ends_with(&format!("/{tool}")));
    // Frameworks whose dev servers ignore PORT, with the port they pick instead.
    if runs("vite") || runs("svelte-kit") {
        5173
    } else if runs("astro") {
        4321
    } else if runs("ng") {
        4200
    } else if runs("gatsby") {
        8000
    } else {
        // next, nuxt, react-scripts, remix-serve, express apps... honour PORT.
        DEFAULT_DEV_PORT
    }
}

/// `--port 8080`, `--port=8080`, `-p 8080`.
fn named_port(command: &str) -> Option<u16> {
    let mut words = command.split_whitespace();
    while let Some(word) = words.next() {
        let value = match word {
            "--port" | "-p" => words.next(),
            _ => word.strip_prefix("--port="),
        };
        if let Some(port) = value.and_then(|v| v.parse::<u16>().ok()).filter(|p| *p >= 1024) {
            return Some(port);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(scripts: &str) -> RepoFiles {
        RepoFiles {
            package_json: Some(format!("{{\"name\":\"x\",\"scripts\":{scripts}}}")),
            ..RepoFiles::default()
        }
    }

    #[test]
    fn package_json_dev_comes_before_start_with_the_frameworks_port() {
        let found = detect(&package(r#"{"start":"node server.js","dev":"vite"}"#), None, None);
        let found = found.unwrap();
        assert_eq!(found.argv, ["npm", "run", "dev"]);
        assert_eq!((found.port, found.source), (5173, "package.json"));
        let next = detect(&package(r#"{"dev":"next dev"}"#), None, None).unwrap();
        assert_eq!(next.port, 3000);
        let start = detect(&package(r#"{"start":"node server.js"}"#), None, None).unwrap();
        assert_eq!((start.argv[2].as_str(), start.port), ("start", 3000));
        let named = detect(&package(r#"{"dev":"astro dev --port 4444"}"#), None, None).unwrap();
        assert_eq!(named.port, 4444);
        assert_eq!(port_for("ng serve"), 4200);
        assert_eq!(port_for("./node_modules/.bin/vite --host"), 5173);
        assert_eq!(port_for("gatsby develop -p 9000"), 9000);
    }

    #[test]
    fn the_lockfile_picks_the_package_manager() {
        let mut files = package(r#"{"dev":"vite"}"#);
        files.lockfiles = vec!["pnpm-lock.yaml"];
        assert_eq!(detect(&files, None, None).unwrap().argv, ["pnpm", "run", "dev"]);
    }

    #[test]
    fn the_tasks_own_command_and_port_win() {
        let files = package(r#"{"dev":"vite"}"#);
        let own = detect(&files, Some("python app.py"), Some(8000)).unwrap();
        assert_eq!(own.argv, ["sh", "-c", "python app.py"]);
        assert_eq!((own.port, own.source), (8000, "dev_command"));
        assert_eq!(detect(&files, None, Some(4000)).unwrap().port, 4000);
    }

    #[test]
    fn a_procfile_web_line_is_used_and_nothing_else_is_guessed() {
        let files = RepoFiles {
            procfile: Some("worker: run-jobs\nweb: bundle exec rails s -p 5000\n".into()),
            ..RepoFiles::default()
        };
        let web = detect(&files, None, None).unwrap();
        assert_eq!((web.display.as_str(), web.port), ("bundle exec rails s -p 5000", 5000));
        assert_eq!(detect(&RepoFiles::default(), None, None), None);
        assert_eq!(detect(&package(r#"{"build":"tsc"}"#), None, None), None);
        assert_eq!(detect(&package(r#"{"dev":"  "}"#), None, None), None);
        let broken = RepoFiles { package_json: Some("{not json".into()), ..RepoFiles::default() };
        assert_eq!(detect(&broken, None, None), None);
        assert_eq!(detect(&RepoFiles::default(), Some("  "), None), None);
    }
}
