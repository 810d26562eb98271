//! The `drydock` binary.

use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = drydock_api::cli::Cli::parse();
    match drydock_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("drydock: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
