//! `plugins-manager:transactions-manager/postgres-queries`, the seed platform's own queries,
//! implemented by an embedding application with SQL on its own schema.
//!
//! plugmill links the generic seed interfaces (vault, request-service, documents); the domain
//! ones belong to the platform that owns the data. This module is what such a platform adds
//! through [`ManagerBuilder::host_interfaces`](plugmill::ManagerBuilder::host_interfaces):
//!
//! - every function answers rows as JSON text (`row_to_json`), as the seed's do;
//! - the `tenant-id` argument must be the call's tenant ([`plugmill::current_tenant`]): a
//!   plugin never reads or changes another tenant's rows;
//! - lookups the WIT declares without `option` answer an error naming what was not found;
//! - bad ids and bad JSON come back as the database's own message, never a trap.
//!
//! The tables live in the schema the pool's `search_path` names (see [`connect`]).

use std::future::Future;

use plugmill::wasmtime::component::{ComponentNamedList, Lift, LinkerInstance};
use plugmill::HostState;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Executor as _;

/// The interface these functions complete.
pub const INTERFACE: &str = "plugins-manager:transactions-manager/postgres-queries";

/// The platform's tables: what the queries below read and change.
pub const SCHEMA_DDL: &str = "
CREATE TABLE IF NOT EXISTS election_event (
  tenant_id uuid NOT NULL, id uuid NOT NULL, name text NOT NULL, annotations jsonb,
  PRIMARY KEY (tenant_id, id));
CREATE TABLE IF NOT EXISTS election (
  tenant_id uuid NOT NULL, election_event_id uuid NOT NULL, id uuid NOT NULL, name text NOT NULL,
  PRIMARY KEY (tenant_id, election_event_id, id));
CREATE TABLE IF NOT EXISTS area (
  tenant_id uuid NOT NULL, id uuid NOT NULL, election_event_id uuid NOT NULL,
  election_id uuid NOT NULL, name text NOT NULL,
  PRIMARY KEY (tenant_id, id));
CREATE TABLE IF NOT EXISTS tally_session (
  tenant_id uuid NOT NULL, election_event_id uuid NOT NULL, id uuid NOT NULL, annotations jsonb,
  PRIMARY KEY (tenant_id, election_event_id, id));
CREATE TABLE IF NOT EXISTS tally_session_execution (
  tenant_id uuid NOT NULL, election_event_id uuid NOT NULL, tally_session_id uuid NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid(), status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, election_event_id, tally_session_id, id));
CREATE TABLE IF NOT EXISTS results_event (
  tenant_id uuid NOT NULL, election_event_id uuid NOT NULL, id uuid NOT NULL, name text,
  PRIMARY KEY (tenant_id, election_event_id, id));
CREATE TABLE IF NOT EXISTS document (
  tenant_id uuid NOT NULL, election_event_id uuid, id uuid NOT NULL, name text NOT NULL,
  media_type text NOT NULL, size bigint NOT NULL,
  PRIMARY KEY (tenant_id, id));
";

/// A pool on `url` whose connections work in `schema` (created with its tables when missing).
pub async fn connect(url: &str, schema: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            schema.replace('"', "\"\"")
        )))
        .await?;
    admin.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.options([("search_path", schema)]))
        .await?;
    pool.execute(SCHEMA_DDL).await?;
    Ok(pool)
}

/// The arguments of one query: the tenant first, then the values bound as `$2`, `$3`, ...
trait Arguments: ComponentNamedList + Lift + Send + Sync + 'static {
    fn into_values(self) -> (String, Vec<Option<String>>);
}

impl Arguments for (String, String) {
    fn into_values(self) -> (String, Vec<Option<String>>) {
        (self.0, vec![Some(self.1)])
    }
}

impl Arguments for (String, String, String) {
    fn into_values(self) -> (String, Vec<Option<String>>) {
        (self.0, vec![Some(self.1), Some(self.2)])
    }
}

impl Arguments for (String, Option<String>, String) {
    fn into_values(self) -> (String, Vec<Option<String>>) {
        (self.0, vec![self.1, Some(self.2)])
    }
}

impl Arguments for (String, String, String, String) {
    fn into_values(self) -> (String, Vec<Option<String>>) {
        (self.0, vec![Some(self.1), Some(self.2), Some(self.3)])
    }
}

/// Refuses a `tenant-id` that is not the call's tenant.
fn check_tenant(plugin: &str, tenant: &str) -> Result<(), String> {
    match plugmill::current_tenant() {
        Some(current) if *current == *tenant => Ok(()),
        _ => Err(format!(
            "not permitted: plugin `{plugin}` asked for tenant `{tenant}`, not the call's tenant"
        )),
    }
}

fn database_error(function: &str, error: sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(error) => format!("{function}: {}", error.message()),
        other => {
            tracing::warn!("{function}: {other}");
            format!("{function}: the platform database is unavailable")
        }
    }
}

/// Runs `sql` with the tenant as `$1` and `values` after it; answers the first column of the
/// first row, if any.
async fn first_text(
    pool: &PgPool,
    function: &str,
    sql: &'static str,
    tenant: String,
    values: Vec<Option<String>>,
) -> Result<Option<String>, String> {
    let mut query = sqlx::query_scalar::<_, String>(sql).bind(tenant);
    for value in values {
        query = query.bind(value);
    }
    query
        .fetch_optional(pool)
        .await
        .map_err(|e| database_error(function, e))
}

/// Links `function` answering `result<R, string>`: `answer` turns the row found (or none)
/// into `R`, after the tenant check.
fn link<A, R>(
    instance: &mut LinkerInstance<'_, HostState>,
    pool: &PgPool,
    function: &'static str,
    sql: &'static str,
    answer: impl Fn(Option<String>) -> Result<R, String> + Copy + Send + Sync + 'static,
) -> anyhow::Result<()>
where
    A: Arguments,
    R: plugmill::wasmtime::component::Lower + Send + Sync + 'static,
    (Result<R, String>,): ComponentNamedList + plugmill::wasmtime::component::Lower,
{
    let pool = pool.clone();
    instance.func_wrap_async(function, move |store, arguments: A| {
        let plugin = store.data().plugin_name().to_string();
        let pool = pool.clone();
        Box::new(run(async move {
            let (tenant, values) = arguments.into_values();
            check_tenant(&plugin, &tenant)?;
            answer(first_text(&pool, function, sql, tenant, values).await?)
        }))
    })?;
    Ok(())
}

/// The answer of a host function that cannot trap: `work`'s result, error included.
async fn run<R>(
    work: impl Future<Output = Result<R, String>>,
) -> plugmill::wasmtime::Result<(Result<R, String>,)> {
    Ok((work.await,))
}

/// A row the WIT promises: its absence is an error naming `what`.
fn required(
    what: &'static str,
) -> impl Fn(Option<String>) -> Result<String, String> + Copy + Send + Sync + 'static {
    move |row| row.ok_or_else(|| format!("no such {what} for the tenant"))
}

fn optional(row: Option<String>) -> Result<Option<String>, String> {
    Ok(row)
}

fn updated(row: Option<String>) -> Result<(), String> {
    row.map(|_| ())
        .ok_or_else(|| "no such row for the tenant: nothing was changed".into())
}

/// Adds the ten functions of `postgres-queries`, on `pool`, to `linker`.
pub fn add_to_linker(
    linker: &mut plugmill::wasmtime::component::Linker<HostState>,
    pool: &PgPool,
) -> anyhow::Result<()> {
    let mut queries = linker.instance(INTERFACE)?;
    let q = &mut queries;
    link::<(String, String), _>(
        q,
        pool,
        "get-election-event-by-id",
        "SELECT row_to_json(e)::text FROM election_event e
         WHERE tenant_id = $1::text::uuid AND id = $2::text::uuid",
        required("election event"),
    )?;
    link::<(String, String, String), _>(
        q,
        pool,
        "get-election-event-by-election-area",
        "SELECT row_to_json(e)::text FROM election_event e
         JOIN area a ON a.tenant_id = e.tenant_id AND a.election_event_id = e.id
         WHERE e.tenant_id = $1::text::uuid AND a.election_id = $2::text::uuid
           AND a.id = $3::text::uuid",
        required("election event"),
    )?;
    link::<(String, String, String), _>(
        q,
        pool,
        "get-election-by-id",
        "SELECT row_to_json(e)::text FROM election e
         WHERE tenant_id = $1::text::uuid AND election_event_id = $2::text::uuid
           AND id = $3::text::uuid",
        optional,
    )?;
    link::<(String, String, String), _>(
        q,
        pool,
        "get-tally-session-by-id",
        "SELECT row_to_json(t)::text FROM tally_session t
         WHERE tenant_id = $1::text::uuid AND election_event_id = $2::text::uuid
           AND id = $3::text::uuid",
        required("tally session"),
    )?;
    link::<(String, Option<String>, String), _>(
        q,
        pool,
        "get-document",
        "SELECT row_to_json(d)::text FROM document d
         WHERE tenant_id = $1::text::uuid
           AND ($2::text IS NULL OR election_event_id = $2::text::uuid)
           AND id = $3::text::uuid",
        optional,
    )?;
    link::<(String, String), _>(
        q,
        pool,
        "get-area-by-id",
        "SELECT row_to_json(a)::text FROM area a
         WHERE tenant_id = $1::text::uuid AND id = $2::text::uuid",
        optional,
    )?;
    link::<(String, String, String), _>(
        q,
        pool,
        "get-last-tally-session-execution",
        "SELECT row_to_json(x)::text FROM tally_session_execution x
         WHERE tenant_id = $1::text::uuid AND election_event_id = $2::text::uuid
           AND tally_session_id = $3::text::uuid
         ORDER BY created_at DESC LIMIT 1",
        optional,
    )?;
    link::<(String, String, String), _>(
        q,
        pool,
        "get-results-event-by-id",
        "SELECT row_to_json(r)::text FROM results_event r
         WHERE tenant_id = $1::text::uuid AND election_event_id = $2::text::uuid
           AND id = $3::text::uuid",
        required("results event"),
    )?;
    link::<(String, String, String, String), _>(
        q,
        pool,
        "update-tally-session-annotation",
        "UPDATE tally_session SET annotations = $4::text::jsonb
         WHERE tenant_id = $1::text::uuid AND election_event_id = $2::text::uuid
           AND id = $3::text::uuid
         RETURNING id::text",
        updated,
    )?;
    link::<(String, String, String), _>(
        q,
        pool,
        "update-election-event-annotations",
        "UPDATE election_event SET annotations = $3::text::jsonb
         WHERE tenant_id = $1::text::uuid AND id = $2::text::uuid
         RETURNING id::text",
        updated,
    )?;
    Ok(())
}
