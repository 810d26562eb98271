//! `drydock-fake-mcp <logfile>`: a stdio MCP server with one tool (`fake_echo`) that appends
//! every JSON-RPC method it receives to `<logfile>`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let Some(log) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: drydock-fake-mcp <logfile>");
        std::process::exit(2);
    };
    drydock_fakes::mcp::serve_stdio(&log)
}
