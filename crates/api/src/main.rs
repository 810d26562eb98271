//! The `drydock` binary.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == drydock_api::cli::SANDBOX_RELAY) {
        sandbox::relay::main(args)
    }
    run()
}

#[actix_web::main]
async fn run() -> std::process::ExitCode {
    let cli = drydock_api::cli::Cli::parse();
    match drydock_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("drydock: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
