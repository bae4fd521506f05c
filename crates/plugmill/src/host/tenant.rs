//! The tenant a call acts for: set by the embedding host around a call (the server sets the
//! tenant of the caller's verified claims), read by capabilities that keep data per tenant.
//! It follows the call into the tasks a hook fanned out to several plugins runs on.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static TENANT: Option<Arc<str>>;
}

/// Runs `call` acting for `tenant` (none: the call acts for no tenant).
pub async fn with_tenant<F: Future>(tenant: Option<&str>, call: F) -> F::Output {
    TENANT.scope(tenant.map(Arc::from), call).await
}

/// The tenant the current call acts for, if any.
pub fn current_tenant() -> Option<Arc<str>> {
    TENANT.try_with(|tenant| tenant.clone()).ok().flatten()
}

/// `future`, acting for the tenant of the current call: for futures spawned on tasks of
/// their own.
pub(crate) fn carry<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let tenant = current_tenant();
    TENANT.scope(tenant, future)
}
