//! [`CallScope`]: what a capability holds for one call (an open transaction, say), ended
//! when the call ends however it ends; [`CallScopes`] keeps those one call opened.

use std::any::Any;

use futures::future::BoxFuture;

/// Something a capability holds for one call, ended when the call ends however it ends.
pub trait CallScope: Any + Send {
    /// Releases what the call left open (rolls back, returns connections). Must not fail: log
    /// what goes wrong.
    fn end_call(&mut self) -> BoxFuture<'_, ()>;
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

    /// Whether the call opened any scope.
    pub(crate) fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Ends every scope, last opened first, and forgets them.
    pub(crate) async fn end_call(&mut self) {
        while let Some(mut scope) = self.scopes.pop() {
            scope.end_call().await;
        }
    }
}
