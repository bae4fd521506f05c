//! The opt-in warm-instance mode: a capped pool of instantiated stores per plugin. An instance
//! goes back to the pool only after a call that succeeded; one that trapped, hit its deadline
//! or its limits is dropped and never used again.

use std::sync::Mutex;

use wasmtime::component::Instance;
use wasmtime::Store;

use super::HostState;

/// An instance with its store, ready for another call.
pub struct WarmInstance {
    /// The store the instance lives in.
    pub store: Store<HostState>,
    /// The instance.
    pub instance: Instance,
}

/// A capped stack of warm instances of one plugin.
pub struct WarmPool {
    idle: Mutex<Vec<WarmInstance>>,
    capacity: usize,
}

impl WarmPool {
    /// A pool that keeps at most `capacity` idle instances.
    pub fn new(capacity: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(capacity)),
            capacity,
        }
    }

    /// An idle instance, if any.
    pub fn take(&self) -> Option<WarmInstance> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Returns a healthy instance to the pool, or drops it when the pool is full.
    pub fn put(&self, instance: WarmInstance) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.capacity {
            idle.push(instance);
        }
    }

    /// How many instances are idle now.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
