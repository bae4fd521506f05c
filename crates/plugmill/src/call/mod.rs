//! How a call to a plugin ends, below the runtime and the call path that report it:
//!
//! - [`error`]: [`CallError`], why a call did not return a value, classified by who is at
//!   fault (the plugin, the host, the caller) from wasmtime's failure;
//! - [`observe`]: [`CallObserver`], what a front end hears of every call when it ends (its
//!   [`CallOutcome`] and where its instance came from, [`InstanceSource`]).

pub mod error;
pub mod observe;

pub use error::CallError;
pub use observe::{CallObserver, CallOutcome, FinishedCall, InstanceSource};
