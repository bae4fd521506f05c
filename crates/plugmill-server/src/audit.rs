//! The audit log: one structured line (target `plugmill::audit`) for every task submission,
//! cancellation, retry and admin action, with the caller's subject and tenant, the request
//! id, what was acted on and how it ended, whether it was allowed or not.

use crate::caller::Caller;

/// What was done.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Action {
    /// A task was queued (`POST /tasks/{name}`, `POST /plugin` with `task_execution`).
    Submit,
    /// A task's cancellation was asked for.
    Cancel,
    /// A failed task's retry was asked for (`POST /tasks/{id}/retry`).
    Retry,
    /// The plugins were reloaded (`POST /admin/reload`, the console's reload button).
    Reload,
    /// An operator signed in to the console.
    SignIn,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "task.submit",
            Action::Cancel => "task.cancel",
            Action::Retry => "task.retry",
            Action::Reload => "admin.reload",
            Action::SignIn => "console.sign_in",
        }
    }
}

/// Writes the audit line of `action` by `caller` on `target` (a task id or name), ended
/// with `outcome` (`ok`, `not_found`, `conflict`, `refused`, `failed`...).
pub(crate) fn record(action: Action, caller: &Caller, target: &str, outcome: &str) {
    let request_id = crate::middleware::request_id();
    tracing::info!(
        target: "plugmill::audit",
        action = action.as_str(),
        subject = caller.subject(),
        tenant = caller.tenant().unwrap_or("-"),
        request_id = request_id.as_deref().unwrap_or("-"),
        target = target,
        outcome = outcome,
        "audit"
    );
}
