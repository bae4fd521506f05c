//! `plugmill`: inspect, list and call WebAssembly component plugins.
//!
//! The commands and their JSON output are a contract that scripts rely on; see the README.

mod args;
mod authoring;
mod commands;

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc rather than the C library's allocator: a store is built on one thread and torn
/// down on another when instance stocks are on, and freeing across threads costs the C
/// library's allocator about 2.5x what it costs mimalloc (figures in `docs/benchmarks.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Never-used instances kept ready for each plugin once it has been called, unless the
/// configuration says otherwise. On this binary's allocator a stock of 16 cuts a call's median
/// latency by 3-5x up to half of one core's load and holds at 90%, where a stock of 4 drains
/// in bursts; it costs about 11-20 KiB per ready instance. The library's default is none, as
/// an embedder's allocator may make tearing down in the background cost more than it saves
/// (figures in `docs/benchmarks.md`).
const INSTANCE_STOCK: usize = 16;

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
