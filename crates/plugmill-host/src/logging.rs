//! Logging for every front end: `tracing` to stderr, filtered by `PLUGMILL_LOG`, with
//! credentials redacted from every line, whichever crate wrote it (a driver that logs a
//! connection parameter, an HTTP client that logs the URL it connects to).
//!
//! With the `otel` feature, spans (a request's, a plugin call's) are also exported over OTLP
//! (HTTP) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`OTEL_SERVICE_NAME`, default `plugmill`).

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// The filter when `PLUGMILL_LOG` is not set: warnings, and what plugins print.
pub const DEFAULT_LOG_FILTER: &str = "warn,plugmill::plugin=info";

/// Starts logging to stderr with `PLUGMILL_LOG` as the filter (else `default_filter`). Call
/// it once, at start; a second call changes nothing.
pub fn init_logging(default_filter: &str) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLUGMILL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(RedactingStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter).with(stderr);
    #[cfg(feature = "otel")]
    let registry = registry.with(otel::layer());
    let _ = registry.try_init();
}

/// Sends the spans still buffered for export (with the `otel` feature); call before exit.
pub fn flush_logging() {
    #[cfg(feature = "otel")]
    otel::flush();
}

#[cfg(feature = "otel")]
mod otel {
    use std::sync::OnceLock;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    /// The OTLP layer, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub(super) fn layer<S>() -> Option<impl tracing_subscriber::Layer<S>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        let exporter = match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => exporter,
            Err(error) => {
                eprintln!("warning: spans are not exported: {error}");
                return None;
            }
        };
        let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "plugmill".into());
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("plugmill");
        let _ = PROVIDER.set(provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    pub(super) fn flush() {
        if let Some(provider) = PROVIDER.get() {
            let _ = provider.force_flush();
        }
    }
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
