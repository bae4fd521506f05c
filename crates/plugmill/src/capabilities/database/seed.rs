//! `plugins-manager:transactions-manager/transaction`, as the seed system defines it: one
//! transaction each on the databases named `hasura` and `keycloak`, text parameters, rows as a
//! JSON array of objects.
//!
//! Differences a seed plugin may notice, all on the safe side: the transaction ends with the
//! call (the seed kept it to the next call); a parameter is converted to the type the
//! statement gives it, so a UUID-looking string bound to a text column stays text; an
//! unconvertible column fails naming it instead of reading as null; a commit after a failed
//! statement reports the rollback PostgreSQL made instead of succeeding.

use super::params::Params;
use super::session::Session;
use super::value::rows_to_json;
use super::wit::DatabaseError;

/// Bindings generated from the WIT.
#[allow(missing_docs)]
pub mod generated {
    wasmtime::component::bindgen!({
        inline: "
            package plugmill:seed-database;
            world seed-database {
                import plugins-manager:transactions-manager/transaction;
            }
        ",
        path: "../../wit/transactions-manager",
        imports: { default: async },
    });
}
pub use generated::plugins_manager::transactions_manager::transaction;

use transaction::Host;

const HASURA: &str = "hasura";
const KEYCLOAK: &str = "keycloak";

impl Session {
    /// Begins the seed transaction on `database`, rolling back one the call already had there
    /// (the seed replaced it the same way).
    async fn seed_create(&mut self, database: &'static str) -> Result<(), String> {
        if let Some(previous) = self.seed.remove(database) {
            if self.is_open(previous) {
                tracing::warn!(
                    database,
                    "create-{database}-transaction again: the open one is rolled back"
                );
            }
            self.drop_transaction(previous).await;
        }
        let id = self.begin(database).await.map_err(message)?;
        self.seed.insert(database, id);
        Ok(())
    }

    async fn seed_query(
        &mut self,
        database: &'static str,
        sql: String,
        params: Vec<String>,
    ) -> Result<String, String> {
        let id = self.seed_transaction(database)?;
        let rows = self
            .query(id, &sql, Params::Text(params))
            .await
            .map_err(message)?;
        Ok(rows_to_json(&rows).to_string())
    }

    async fn seed_commit(&mut self, database: &'static str) -> Result<(), String> {
        let id = self.seed_transaction(database)?;
        self.seed.remove(database);
        let outcome = self.commit(id).await.map_err(message);
        self.drop_transaction(id).await;
        outcome
    }

    fn seed_transaction(&self, database: &'static str) -> Result<u32, String> {
        self.seed.get(database).copied().ok_or_else(|| {
            format!("no {database} transaction is open in this call: call create-{database}-transaction first")
        })
    }
}

fn message(e: DatabaseError) -> String {
    e.message
}

impl Host for Session {
    async fn create_hasura_transaction(&mut self) -> Result<(), String> {
        self.seed_create(HASURA).await
    }

    async fn create_keycloak_transaction(&mut self) -> Result<(), String> {
        self.seed_create(KEYCLOAK).await
    }

    async fn execute_hasura_query(
        &mut self,
        sql: String,
        params: Vec<String>,
    ) -> Result<String, String> {
        self.seed_query(HASURA, sql, params).await
    }

    async fn execute_keycloak_query(
        &mut self,
        sql: String,
        params: Vec<String>,
    ) -> Result<String, String> {
        self.seed_query(KEYCLOAK, sql, params).await
    }

    async fn commit_hasura_transaction(&mut self) -> Result<(), String> {
        self.seed_commit(HASURA).await
    }

    async fn commit_keycloak_transaction(&mut self) -> Result<(), String> {
        self.seed_commit(KEYCLOAK).await
    }
}
