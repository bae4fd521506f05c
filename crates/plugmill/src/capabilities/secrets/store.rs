//! Where sealed secrets live: the table `plugmill_secrets` of a database of `[databases]`,
//! PostgreSQL or SQLite, created on first use. A row holds the tenant, the plugin, the name,
//! the id of the key that sealed it and the sealed bytes (base64): never a plaintext value.

use crate::capabilities::database::Pool;

/// The table's definition (the same text on both backends).
const CREATE: &str = "CREATE TABLE IF NOT EXISTS plugmill_secrets (
    tenant_id TEXT NOT NULL,
    plugin TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plugin, name)
)";

const GET: &str = "SELECT key_id, sealed FROM plugmill_secrets
    WHERE tenant_id = $1 AND plugin = $2 AND name = $3";
const PUT: &str = "INSERT INTO plugmill_secrets (tenant_id, plugin, name, key_id, sealed, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (tenant_id, plugin, name)
    DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, updated_at = excluded.updated_at";
const DELETE: &str =
    "DELETE FROM plugmill_secrets WHERE tenant_id = $1 AND plugin = $2 AND name = $3";
const LIST: &str = "SELECT name FROM plugmill_secrets
    WHERE tenant_id = $1 AND plugin = $2 ORDER BY name LIMIT $3";

/// The most names `list` returns.
pub const MAX_LISTED: i64 = 10_000;

/// Runs `$body` with `$pool` bound to the pool of whichever backend `$either` is. The
/// statements are the same text on both (numbered `$N` parameters and `ON CONFLICT ... DO
/// UPDATE` are understood by PostgreSQL and by SQLite); only the pool's type differs.
macro_rules! on_either {
    ($either:expr, $pool:ident => $body:expr) => {
        match $either {
            #[cfg(feature = "postgres")]
            Pool::Postgres($pool) => $body,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($pool) => $body,
        }
    };
}

/// One row's place: tenant, plugin, name.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The plugin.
    pub plugin: &'a str,
    /// The secret's name.
    pub name: &'a str,
}

impl Row<'_> {
    /// The associated data a value of this row is sealed with.
    pub fn context(&self) -> Vec<u8> {
        [self.tenant, self.plugin, self.name]
            .join("\0")
            .into_bytes()
    }
}

/// The secrets table on one database.
#[derive(Debug)]
pub struct Store {
    pool: Pool,
    ready: tokio::sync::OnceCell<()>,
}

impl Store {
    /// The table on `pool`, created at first use.
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            ready: tokio::sync::OnceCell::new(),
        }
    }

    async fn ready(&self) -> Result<(), sqlx::Error> {
        self.ready
            .get_or_try_init(|| async {
                match &self.pool {
                    // The one place the backends differ: two PostgreSQL servers creating the
                    // table at once can clash (`CREATE TABLE IF NOT EXISTS` is not atomic
                    // there), so they take turns under an advisory lock; SQLite has no such
                    // lock and needs none, as it runs one write at a time on its file.
                    #[cfg(feature = "postgres")]
                    Pool::Postgres(pool) => {
                        let mut tx = pool.begin().await?;
                        sqlx::query("SELECT pg_advisory_xact_lock(7349284402)")
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(CREATE).execute(&mut *tx).await?;
                        tx.commit().await
                    }
                    #[cfg(feature = "sqlite")]
                    Pool::Sqlite(pool) => sqlx::query(CREATE).execute(pool).await.map(|_| ()),
                }
            })
            .await
            .map(|_| ())
    }

    /// The key id and sealed value of `row`, if set.
    pub async fn get(&self, row: Row<'_>) -> Result<Option<(String, String)>, sqlx::Error> {
        self.ready().await?;
        on_either!(&self.pool, pool => {
            sqlx::query_as(GET)
                .bind(row.tenant)
                .bind(row.plugin)
                .bind(row.name)
                .fetch_optional(pool)
                .await
        })
    }

    /// Sets `row` to the value `sealed` by key `key_id`.
    pub async fn put(&self, row: Row<'_>, key_id: &str, sealed: &str) -> Result<(), sqlx::Error> {
        self.ready().await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        on_either!(&self.pool, pool => {
            sqlx::query(PUT)
                .bind(row.tenant)
                .bind(row.plugin)
                .bind(row.name)
                .bind(key_id)
                .bind(sealed)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Deletes `row`; whether it existed.
    pub async fn delete(&self, row: Row<'_>) -> Result<bool, sqlx::Error> {
        self.ready().await?;
        let affected = on_either!(&self.pool, pool => {
            sqlx::query(DELETE)
                .bind(row.tenant)
                .bind(row.plugin)
                .bind(row.name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    /// The names `plugin` keeps for `tenant`, sorted.
    pub async fn list(&self, tenant: &str, plugin: &str) -> Result<Vec<String>, sqlx::Error> {
        self.ready().await?;
        let rows: Vec<(String,)> = on_either!(&self.pool, pool => {
            sqlx::query_as(LIST)
                .bind(tenant)
                .bind(plugin)
                .bind(MAX_LISTED)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }
}
