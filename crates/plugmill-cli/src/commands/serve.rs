//! `plugmill serve`: the HTTP server (`plugmill-server`) until SIGTERM or SIGINT.

use std::process::ExitCode;

use anyhow::Context as _;
use plugmill_server::Server;

use crate::args::HostArgs;

pub async fn run(args: &HostArgs, listen: Option<&str>) -> anyhow::Result<ExitCode> {
    // Installed first: a signal while the server starts ends it cleanly.
    let shutdown = plugmill_host::shutdown_signal();
    let server = Server::assemble(args.options(), listen).await?;
    let address = server.settings().listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    server.check_exposure(listener.local_addr()?)?;
    // The one line on stdout, for scripts (with port 0, the port chosen).
    println!("listening on http://{}", listener.local_addr()?);
    server.serve(listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}
