//! [`DeferredCommits`]: commits a caller defers to the end of a call, to add its own writes to
//! them. The task runner uses it for exactly-once effects: a task's plugin that writes to the
//! database holding the task records has its commit held back, and the runner commits the
//! plugin's writes together with the plugin's outcome in the record, in one transaction. A
//! worker killed at any instant then leaves both or neither.
//!
//! The deferral is task-local: [`DeferredCommits::run`] scopes it over a future, the calls
//! that future spawns carry it ([`carry_deferred`]), and a plugin's `commit` on the named
//! database, inside that scope, hands its open transaction over instead of committing. A held
//! transaction nobody takes is rolled back when dropped, as an uncommitted one is.

use std::future::Future;
use std::sync::{Arc, Mutex};

#[cfg(feature = "postgres")]
use sqlx::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;

tokio::task_local! {
    static DEFERRED: Arc<DeferredCommits>;
}

/// A transaction a plugin committed while its commit was deferred: still open, its writes
/// not yet visible, for the caller to add to and commit.
#[non_exhaustive]
pub enum HeldTransaction {
    /// On PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, Postgres>),
    /// On SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, Sqlite>),
}

impl std::fmt::Debug for HeldTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeldTransaction")
    }
}

/// The commits deferred on one database, by plugin.
pub struct DeferredCommits {
    database: String,
    held: Mutex<Vec<(String, HeldTransaction)>>,
}

impl DeferredCommits {
    /// Defers the commits of plugins on `database` (a name under `[databases]`).
    pub fn new(database: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            database: database.into(),
            held: Mutex::new(Vec::new()),
        })
    }

    /// Runs `future` with commits on the database deferred.
    pub async fn run<F: Future>(self: &Arc<Self>, future: F) -> F::Output {
        DEFERRED.scope(self.clone(), future).await
    }

    /// The deferral of the running task, if any.
    pub(crate) fn current() -> Option<Arc<Self>> {
        DEFERRED.try_with(Arc::clone).ok()
    }

    /// Whether commits on `database` are deferred.
    pub(crate) fn defers(&self, database: &str) -> bool {
        self.database == database
    }

    /// Keeps `plugin`'s committed transaction.
    pub(crate) fn hold(&self, plugin: &str, transaction: HeldTransaction) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((plugin.to_string(), transaction));
    }

    /// The transactions `plugin` committed, in order; the caller commits them.
    pub fn take(&self, plugin: &str) -> Vec<HeldTransaction> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let (taken, kept) = std::mem::take(&mut *held)
            .into_iter()
            .partition(|(p, _)| p == plugin);
        *held = kept;
        taken.into_iter().map(|(_, t)| t).collect()
    }
}

/// `future`, carrying the deferral of the task it is made in: for calls spawned on tasks of
/// their own.
pub(crate) fn carry_deferred<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let current = DeferredCommits::current();
    async move {
        match current {
            Some(deferred) => DEFERRED.scope(deferred, future).await,
            None => future.await,
        }
    }
}
