//! Captured plugin output: stdout and stderr go to a buffer capped in size (the rest is counted
//! and dropped, never an error for the plugin), then to `tracing`, tagged with the plugin name.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: u64,
}

/// A size-capped sink for one stream of one store.
#[derive(Clone)]
pub struct CapturedOutput {
    buffer: Arc<Mutex<Buffer>>,
    cap: usize,
}

impl CapturedOutput {
    /// A sink that keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            buffer: Arc::default(),
            cap,
        }
    }

    /// Takes what was written so far: the kept bytes and how many were dropped.
    pub fn take(&self) -> (Vec<u8>, u64) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let dropped = std::mem::take(&mut buffer.dropped);
        (std::mem::take(&mut buffer.kept), dropped)
    }

    fn write(&self, bytes: &[u8]) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let room = self.cap.saturating_sub(buffer.kept.len());
        let kept = bytes.len().min(room);
        buffer.kept.extend_from_slice(&bytes[..kept]);
        buffer.dropped += (bytes.len() - kept) as u64;
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Logs what a plugin wrote to one stream, line by line, tagged with the plugin name, and
/// returns the text.
pub fn log_captured(plugin: &str, stream: &'static str, output: &CapturedOutput) -> String {
    let (bytes, dropped) = output.take();
    if bytes.is_empty() && dropped == 0 {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        if stream == "stderr" {
            tracing::warn!(target: "plugmill::plugin", plugin, stream, "{line}");
        } else {
            tracing::info!(target: "plugmill::plugin", plugin, stream, "{line}");
        }
    }
    if dropped > 0 {
        tracing::warn!(target: "plugmill::plugin", plugin, stream, dropped, "plugin output over the capture limit was dropped");
    }
    text.into_owned()
}
