//! [`Session`]: the transactions one call has open. A call scope (see
//! [`crate::capabilities::CallScope`]): when the call ends, however it ends, every transaction
//! still open is rolled back and its connection returned to its pool.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::databases::{Database, Databases};
use super::deferred::{DeferredCommits, HeldTransaction};
use super::params::Params;
use super::pool::Pool;
#[cfg(feature = "postgres")]
use super::postgres::PgTransaction;
#[cfg(feature = "sqlite")]
use super::sqlite::SqliteTransaction;
use super::wit::{error, DatabaseError, ErrorKind, Rows};
use crate::capabilities::{CallScope, ScopeContext};

/// Transactions one call may hold open at once.
pub const MAX_OPEN_TRANSACTIONS: usize = 16;

/// The id of the next transaction, in the whole process.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Time a rollback at the end of a call may take before its connection is dropped instead.
const ROLLBACK_GRACE: Duration = Duration::from_secs(5);

/// An open transaction of either backend.
enum Backend {
    #[cfg(feature = "postgres")]
    Postgres(PgTransaction),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteTransaction),
}

// A backend uses the call's deadline (SQLite) or the statement timeout set at `begin`
// (PostgreSQL); with one backend built, the other's argument is unused.
#[cfg_attr(
    not(all(feature = "postgres", feature = "sqlite")),
    allow(unused_variables)
)]
impl Backend {
    async fn query(
        &mut self,
        database: &Database,
        sql: &str,
        params: Params,
        call_deadline: Instant,
    ) -> Result<Rows, DatabaseError> {
        match self {
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => tx.query(database, sql, params).await,
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => {
                let until = statement_deadline(database, call_deadline);
                tx.query(database, sql, params, until).await
            }
        }
    }

    async fn execute(
        &mut self,
        database: &Database,
        sql: &str,
        params: Params,
        call_deadline: Instant,
    ) -> Result<u64, DatabaseError> {
        match self {
            #[cfg(feature = "postgres")]
            Backend::Postgres(tx) => tx.execute(sql, params).await,
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(tx) => {
                let until = statement_deadline(database, call_deadline);
                tx.execute(sql, params, until).await
            }
        }
    }

    async fn begin(
        database: &Database,
        statement_timeout: Duration,
    ) -> Result<Self, DatabaseError> {
        match database.pool() {
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => PgTransaction::begin(database, pool, statement_timeout)
                .await
                .map(Backend::Postgres),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => SqliteTransaction::begin(database, pool)
                .await
                .map(Backend::Sqlite),
        }
    }
}

/// One transaction of the call.
struct Open {
    database: Arc<Database>,
    /// `None` once committed, rolled back or abandoned after a timeout.
    backend: Option<Backend>,
    /// Why the transaction can no longer be used.
    closed: &'static str,
}

/// The transactions of one call.
pub struct Session {
    databases: Arc<Databases>,
    plugin: Arc<str>,
    deadline: Instant,
    open: BTreeMap<u32, Open>,
    /// The transactions of the seed interface, by database name.
    pub(crate) seed: BTreeMap<&'static str, u32>,
}

impl Session {
    /// The session of a new call.
    pub fn new(context: ScopeContext<'_>) -> Self {
        Self {
            databases: context.shared.get::<Databases>().unwrap_or_default(),
            plugin: context.plugin.clone(),
            deadline: context.deadline,
            open: BTreeMap::new(),
            seed: BTreeMap::new(),
        }
    }

    /// Runs `operation`, but not past the call's deadline.
    async fn by_deadline<T>(
        &self,
        what: &str,
        operation: impl Future<Output = Result<T, DatabaseError>>,
    ) -> Result<T, DatabaseError> {
        match tokio::time::timeout_at(self.deadline.into(), operation).await {
            Ok(outcome) => outcome,
            Err(_) => Err(error(
                ErrorKind::Timeout,
                format!("{what} did not finish before the call's deadline"),
            )),
        }
    }

    /// Time left to the call's deadline, capped at `limit`.
    fn remaining(&self, limit: Duration) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .min(limit)
    }

    /// Begins a transaction on `name`; returns its id.
    pub async fn begin(&mut self, name: &str) -> Result<u32, DatabaseError> {
        let database = self.databases.open(&self.plugin, name)?;
        let live = self.open.values().filter(|t| t.backend.is_some()).count();
        if live >= MAX_OPEN_TRANSACTIONS {
            return Err(error(
                ErrorKind::Limit,
                format!("a call may hold {MAX_OPEN_TRANSACTIONS} transactions open at once"),
            ));
        }
        let statement_timeout = self.remaining(database.spec.statement_timeout);
        let what = format!("beginning a transaction on `{name}`");
        let backend = self
            .by_deadline(&what, Backend::begin(&database, statement_timeout))
            .await?;
        // Ids are unique in the process, so a handle a warm instance kept from an earlier call
        // never names a transaction of a later one.
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.open.insert(
            id,
            Open {
                database,
                backend: Some(backend),
                closed: "",
            },
        );
        tracing::debug!(plugin = %self.plugin, database = name, id, "transaction begun");
        Ok(id)
    }

    /// Runs `sql` in transaction `id` and returns its rows.
    pub async fn query(
        &mut self,
        id: u32,
        sql: &str,
        params: Params,
    ) -> Result<Rows, DatabaseError> {
        let deadline = self.deadline;
        self.with_transaction(id, "the query", |database, mut backend| async move {
            let outcome = backend.query(&database, sql, params, deadline).await;
            (backend, outcome)
        })
        .await
    }

    /// Runs `sql` in transaction `id` and returns the number of rows it changed.
    pub async fn execute(
        &mut self,
        id: u32,
        sql: &str,
        params: Params,
    ) -> Result<u64, DatabaseError> {
        let deadline = self.deadline;
        self.with_transaction(id, "the statement", |database, mut backend| async move {
            let outcome = backend.execute(&database, sql, params, deadline).await;
            (backend, outcome)
        })
        .await
    }

    /// Runs `operation` on the open transaction `id`, which it holds meanwhile. If the call's
    /// deadline passes first, the transaction is abandoned: dropping it rolls it back.
    async fn with_transaction<T, F, Fut>(
        &mut self,
        id: u32,
        what: &str,
        operation: F,
    ) -> Result<T, DatabaseError>
    where
        F: FnOnce(Arc<Database>, Backend) -> Fut,
        Fut: Future<Output = (Backend, Result<T, DatabaseError>)>,
    {
        let open = self.open.get_mut(&id).ok_or_else(unknown_transaction)?;
        let Some(backend) = open.backend.take() else {
            return Err(closed(&open.database.name, open.closed));
        };
        let database = open.database.clone();
        let outcome =
            tokio::time::timeout_at(self.deadline.into(), operation(database, backend)).await;
        let open = self.open.get_mut(&id).ok_or_else(unknown_transaction)?;
        match outcome {
            Ok((backend, result)) => {
                open.backend = Some(backend);
                result
            }
            Err(_) => {
                open.closed = "abandoned when the call's deadline passed";
                Err(error(
                    ErrorKind::Timeout,
                    format!("{what} did not finish before the call's deadline; the transaction was rolled back"),
                ))
            }
        }
    }

    /// Commits transaction `id`; when the running task defers commits on its database (see
    /// [`DeferredCommits`]), hands it over to the task instead, still open.
    pub async fn commit(&mut self, id: u32) -> Result<(), DatabaseError> {
        let deferred = DeferredCommits::current().filter(|deferred| {
            self.open
                .get(&id)
                .is_some_and(|open| deferred.defers(&open.database.name))
        });
        if let Some(deferred) = deferred {
            let backend = self.take(id, "committed")?;
            let held = match backend {
                #[cfg(feature = "postgres")]
                Backend::Postgres(tx) => tx.hold().await.map(HeldTransaction::Postgres),
                #[cfg(feature = "sqlite")]
                Backend::Sqlite(tx) => Ok(HeldTransaction::Sqlite(tx.hold().await)),
            };
            return held.map(|held| deferred.hold(&self.plugin, held));
        }
        let backend = self.take(id, "committed")?;
        let outcome = self
            .by_deadline("the commit", async {
                match backend {
                    #[cfg(feature = "postgres")]
                    Backend::Postgres(tx) => tx.commit().await,
                    #[cfg(feature = "sqlite")]
                    Backend::Sqlite(tx) => tx.commit().await,
                }
            })
            .await;
        if outcome.is_err() {
            if let Some(open) = self.open.get_mut(&id) {
                open.closed = "failed to commit";
            }
        }
        outcome
    }

    /// Rolls back transaction `id`.
    pub async fn rollback(&mut self, id: u32) -> Result<(), DatabaseError> {
        let backend = self.take(id, "rolled back")?;
        self.by_deadline("the rollback", rollback(backend)).await
    }

    /// Forgets transaction `id`, rolling it back if it is still open.
    pub async fn drop_transaction(&mut self, id: u32) {
        if let Some(Open {
            backend: Some(backend),
            ..
        }) = self.open.remove(&id)
        {
            if let Err(e) = self.by_deadline("the rollback", rollback(backend)).await {
                tracing::warn!(plugin = %self.plugin, "rolling back a dropped transaction: {}", e.message);
            }
        }
    }

    /// The database transaction `id` runs on.
    pub fn database_of(&self, id: u32) -> Option<&str> {
        Some(self.open.get(&id)?.database.name.as_str())
    }

    /// Whether transaction `id` exists and is still open.
    pub fn is_open(&self, id: u32) -> bool {
        self.open
            .get(&id)
            .is_some_and(|open| open.backend.is_some())
    }

    /// Takes the backend of `id` out to end it; later use fails with `closed`.
    fn take(&mut self, id: u32, reason: &'static str) -> Result<Backend, DatabaseError> {
        let open = self.open.get_mut(&id).ok_or_else(unknown_transaction)?;
        match open.backend.take() {
            Some(backend) => {
                open.closed = reason;
                Ok(backend)
            }
            None => Err(closed(&open.database.name, open.closed)),
        }
    }
}

/// When the next statement must end: the database's statement timeout, within the call's
/// deadline.
#[cfg(feature = "sqlite")]
fn statement_deadline(database: &Database, call_deadline: Instant) -> Instant {
    crate::host::deadline::deadline_after(database.spec.statement_timeout).min(call_deadline)
}

async fn rollback(backend: Backend) -> Result<(), DatabaseError> {
    match backend {
        #[cfg(feature = "postgres")]
        Backend::Postgres(tx) => tx.rollback().await,
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(tx) => tx.rollback().await,
    }
}

fn unknown_transaction() -> DatabaseError {
    error(ErrorKind::Closed, "no such transaction in this call")
}

fn closed(database: &str, reason: &str) -> DatabaseError {
    error(
        ErrorKind::Closed,
        format!("the transaction on `{database}` was already {reason}"),
    )
}

impl CallScope for Session {
    fn end_call(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let open = std::mem::take(&mut self.open);
            let mut rolled_back = 0;
            for (_, open) in open {
                let Some(backend) = open.backend else {
                    continue;
                };
                rolled_back += 1;
                match tokio::time::timeout(ROLLBACK_GRACE, rollback(backend)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(
                        plugin = %self.plugin,
                        database = open.database.name,
                        "rolling back at the end of the call: {}",
                        e.message
                    ),
                    Err(_) => tracing::warn!(
                        plugin = %self.plugin,
                        database = open.database.name,
                        "the rollback at the end of the call timed out; the connection was dropped"
                    ),
                }
            }
            if rolled_back > 0 {
                tracing::warn!(
                    plugin = %self.plugin,
                    transactions = rolled_back,
                    "rolled back transactions the call left uncommitted"
                );
            }
            self.seed.clear();
        })
    }
}
