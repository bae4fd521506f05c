//! The call deadline: when a call must be over, and the error it fails with past that.

use std::time::{Duration, Instant};

/// The error a call fails with when it runs past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
pub struct DeadlineExceeded;

/// `timeout` from now; a timeout too long to be added to the clock means no deadline in
/// practice (the engine's settings bound timeouts far below that, but code may not).
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + crate::config::values::MAX_DURATION)
}
