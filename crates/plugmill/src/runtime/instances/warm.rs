//! [`WarmInstances`]: the opt-in warm mode's instances of one plugin, reused across calls. An
//! instance is put back only after a call that succeeded; one that trapped, hit its deadline
//! or its limits is torn down and never used again.

use std::sync::Mutex;

use super::instance::PluginInstance;

/// A capped stack of one plugin's idle warm instances.
pub struct WarmInstances {
    idle: Mutex<Vec<PluginInstance>>,
    capacity: usize,
}

impl WarmInstances {
    /// Keeps at most `capacity` idle instances.
    pub fn new(capacity: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(capacity)),
            capacity,
        }
    }

    /// An idle instance, if any.
    pub fn take(&self) -> Option<PluginInstance> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Puts back an instance whose call succeeded, or tears it down when `capacity` are idle.
    pub fn put_back(&self, instance: PluginInstance) {
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
