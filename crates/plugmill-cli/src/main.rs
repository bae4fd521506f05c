//! `plugmill`: inspect, list and call WebAssembly component plugins.
//!
//! The commands and their JSON output are a contract that scripts rely on; see the README.

mod args;
mod authoring;
mod commands;

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc rather than the C library's allocator: an instance from a plugin's stock is
/// built on the keeper's thread, called on another and torn down on the keeper's again, and
/// freeing across threads costs the C library's allocator 2.7-3.1x what it costs on the
/// thread that allocated, mimalloc 1.5x (figures in `docs/benchmarks.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
