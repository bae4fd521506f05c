//! The signals every long-running front end stops on.

use std::future::Future;

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this
/// is called, not when the future is first polled, so a signal that arrives while the front
/// end is still starting is not lost (nor does it kill the process).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (terminate, interrupt) {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (terminate, interrupt) => {
                let error = terminate.err().or(interrupt.err());
                tracing::warn!(
                    ?error,
                    "cannot listen for SIGTERM/SIGINT; waiting for Ctrl-C only"
                );
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
