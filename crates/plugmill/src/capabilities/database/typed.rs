//! `plugmill:database/transactions@0.1.0` (WIT: `wit/database/database.wit`):
//! transactions as resources, typed parameters, typed rows or JSON. A `transaction` resource
//! is represented by the id the call's [`Session`] gave it.

use wasmtime::component::Resource;

use super::params::Params;
use super::session::Session;
use super::value::rows_to_json;
use super::wit::{transactions, types, DatabaseError, Rows, Value};

use transactions::{Host, HostTransaction, Transaction};

fn id(handle: &Resource<Transaction>) -> u32 {
    handle.rep()
}

impl types::Host for Session {}

impl Host for Session {
    async fn begin(&mut self, database: String) -> Result<Resource<Transaction>, DatabaseError> {
        let id = Session::begin(self, &database).await?;
        Ok(Resource::new_own(id))
    }
}

impl HostTransaction for Session {
    async fn query(
        &mut self,
        handle: Resource<Transaction>,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Rows, DatabaseError> {
        Session::query(self, id(&handle), &sql, Params::Typed(params)).await
    }

    async fn query_json(
        &mut self,
        handle: Resource<Transaction>,
        sql: String,
        params: Vec<Value>,
    ) -> Result<String, DatabaseError> {
        let rows = Session::query(self, id(&handle), &sql, Params::Typed(params)).await?;
        Ok(rows_to_json(&rows).to_string())
    }

    async fn execute(
        &mut self,
        handle: Resource<Transaction>,
        sql: String,
        params: Vec<Value>,
    ) -> Result<u64, DatabaseError> {
        Session::execute(self, id(&handle), &sql, Params::Typed(params)).await
    }

    async fn commit(&mut self, handle: Resource<Transaction>) -> Result<(), DatabaseError> {
        Session::commit(self, id(&handle)).await
    }

    async fn rollback(&mut self, handle: Resource<Transaction>) -> Result<(), DatabaseError> {
        Session::rollback(self, id(&handle)).await
    }

    async fn database(&mut self, handle: Resource<Transaction>) -> String {
        self.database_of(id(&handle))
            .unwrap_or_default()
            .to_string()
    }

    async fn drop(&mut self, handle: Resource<Transaction>) -> wasmtime::Result<()> {
        self.drop_transaction(id(&handle)).await;
        Ok(())
    }
}
