//! [`HttpLimits`]: the limits of every outbound request.

use std::time::Duration;

/// The limits of every outbound request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// The longest one request may take, redirects included (the call's deadline comes first).
    pub timeout: Duration,
    /// The longest answer body.
    pub max_response: u64,
    /// The longest request body.
    pub max_request: u64,
    /// How many redirects the host follows.
    pub max_redirects: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_response: 16 << 20,
            max_request: 16 << 20,
            max_redirects: 5,
        }
    }
}
