//! A tiny web app with a dev server and no dependencies (node only), for preview tests: pages,
//! `/headers` (the request headers it received, as JSON), POST echo, and a WebSocket echo.

use crate::git::BareRepo;

/// `server.js`: listens on `$PORT` on 127.0.0.1.
pub const SERVER_JS: &str = include_str!("server.js");

/// `package.json` whose `dev` script runs it.
pub const PACKAGE_JSON: &str =
    "{\n  \"name\": \"tiny-app\",\n  \"private\": true,\n  \"scripts\": { \"dev\": \"node server.js\" }\n}\n";

/// A bare repository holding the app.
pub fn repo() -> BareRepo {
    let repo = BareRepo::new();
    repo.commit_files(&[("package.json", PACKAGE_JSON), ("server.js", SERVER_JS)], "tiny app");
    repo
}
