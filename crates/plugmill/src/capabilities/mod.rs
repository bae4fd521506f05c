//! Host capabilities: interfaces plugins may import, one unit each.
//!
//! - WASI is linked by the runtime, denied by default (see [`crate::runtime::state`]).
//! - [`database`]: SQL inside host-owned transactions, PostgreSQL or SQLite, through the
//!   seed-compatible `plugins-manager:transactions-manager/transaction` interface and the typed
//!   `plugmill:database` interface.
//! - An embedding application adds its own interfaces with
//!   [`ManagerBuilder::host_interfaces`](crate::ManagerBuilder::host_interfaces); host
//!   functions receive the store, whose [`HostState`](crate::runtime::HostState) names the
//!   calling plugin.
//!
//! A capability that holds something for the length of one call (an open transaction, a lock)
//! keeps it in a [`CallScope`]: the host ends every scope when the call returns, traps or runs
//! out of time, so nothing a call opened outlives it. State shared by every call (a connection
//! pool) is registered once in [`Shared`].

pub mod database;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;

/// Something a capability holds for one call, ended when the call ends however it ends.
pub trait CallScope: Any + Send {
    /// Releases what the call left open (rolls back, returns connections). Must not fail: log
    /// what goes wrong.
    fn end_call(&mut self) -> BoxFuture<'_, ()>;
}

/// What a [`CallScope`] is created from: the shared state and the call it belongs to.
pub struct ScopeContext<'a> {
    /// State shared by every call.
    pub shared: &'a Shared,
    /// The calling plugin.
    pub plugin: &'a Arc<str>,
    /// When the call must be over.
    pub deadline: Instant,
}

/// State every call shares, one value per type (pools, registries). Built once with the
/// runtime.
#[derive(Default)]
pub struct Shared {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Shared {
    /// Registers `value`, replacing any earlier value of its type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        self.values.insert(TypeId::of::<T>(), value);
    }

    /// The registered value of type `T`.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = self.values.get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }
}

/// The scopes one call opened, in the order they were opened.
#[derive(Default)]
pub(crate) struct CallScopes {
    scopes: Vec<Box<dyn CallScope>>,
}

impl CallScopes {
    /// The scope of type `S`, created on first use.
    pub(crate) fn get_or_insert_with<S: CallScope>(
        &mut self,
        create: impl FnOnce() -> S,
    ) -> &mut S {
        let position = self
            .scopes
            .iter()
            .position(|scope| (scope.as_ref() as &dyn Any).is::<S>());
        let index = match position {
            Some(index) => index,
            None => {
                self.scopes.push(Box::new(create()));
                self.scopes.len() - 1
            }
        };
        (self.scopes[index].as_mut() as &mut dyn Any)
            .downcast_mut::<S>()
            .expect("the scope at this index has this type")
    }

    /// Ends every scope, last opened first, and forgets them.
    pub(crate) async fn end_call(&mut self) {
        while let Some(mut scope) = self.scopes.pop() {
            scope.end_call().await;
        }
    }
}
