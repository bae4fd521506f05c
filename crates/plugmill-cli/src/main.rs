//! `plugmill`: inspect, list and call WebAssembly component plugins.
//!
//! The commands and their JSON output are a contract that scripts rely on; see the README.

mod args;
mod authoring;
mod commands;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    plugmill_host::init_logging(plugmill_host::DEFAULT_LOG_FILTER);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    };
    plugmill_host::flush_logging();
    code
}
