//! Logging for every front end: `tracing` to stderr, filtered by `PLUGMILL_LOG`, with
//! credentials redacted from every line, whichever crate wrote it (a driver that logs a
//! connection parameter, an HTTP client that logs the URL it connects to).

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// The filter when `PLUGMILL_LOG` is not set: warnings, and what plugins print.
pub const DEFAULT_LOG_FILTER: &str = "warn,plugmill::plugin=info";

/// Starts logging to stderr with `PLUGMILL_LOG` as the filter (else `default_filter`). Call
/// it once, at start; a second call changes nothing.
pub fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLUGMILL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_target(false)
        .try_init();
}

/// Stderr, through [`plugmill::redact_secrets`]: the formatter writes each event in one call.
#[derive(Clone, Copy)]
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let line = plugmill::redact_secrets(&String::from_utf8_lossy(bytes));
        std::io::stderr().lock().write_all(line.as_bytes())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingStderr;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}
