//! `drydock-fake-model [--port N] [--port-file F] [--log FILE]`: runs the scripted fake model
//! server on 127.0.0.1 until killed, printing `listening on http://127.0.0.1:PORT`.

use std::path::PathBuf;

use drydock_fakes::{serve_forever, FakeConfig};

fn main() -> std::io::Result<()> {
    let mut config = FakeConfig::default();
    let mut port_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(v)) => {
                config.port = v.parse().map_err(|_| invalid(&format!("bad port {v}")))?;
            }
            ("--port-file", Some(v)) => port_file = Some(PathBuf::from(v)),
            ("--log", Some(v)) => config.log_file = Some(PathBuf::from(v)),
            ("--workdir", Some(v)) => config.defaults.workdir = Some(v),
            _ => return Err(invalid(
                "usage: drydock-fake-model [--port N] [--port-file F] [--log FILE] [--workdir DIR]",
            )),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        if let Some(file) = &port_file {
            std::fs::write(file, addr.port().to_string())?;
        }
        println!("listening on http://{addr}");
        serve_forever(listener, config).await
    })
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.to_string())
}
