//! [`PluginStats`]: the counters of one plugin's calls, including where each call's instance
//! came from.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::call::InstanceSource;

/// Counters of one plugin's calls.
#[derive(Debug, Default)]
pub struct PluginStats {
    calls: AtomicU64,
    failures: AtomicU64,
    fuel_used: AtomicU64,
    last_fuel_used: AtomicU64,
    from_stock: AtomicU64,
    instantiated: AtomicU64,
}

impl PluginStats {
    pub(crate) fn record(&self, ok: bool, fuel_used: Option<u64>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(fuel) = fuel_used {
            self.fuel_used.fetch_add(fuel, Ordering::Relaxed);
            self.last_fuel_used.store(fuel, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_instance(&self, source: InstanceSource) {
        let counter = match source {
            InstanceSource::Stock => &self.from_stock,
            InstanceSource::Instantiated => &self.instantiated,
            InstanceSource::Warm => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Fuel used by all calls, when fuel is metered.
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used.load(Ordering::Relaxed)
    }

    /// Fuel used by the call that finished last, when fuel is metered.
    pub fn last_fuel_used(&self) -> u64 {
        self.last_fuel_used.load(Ordering::Relaxed)
    }

    /// Calls that took a ready instance from the plugin's stock.
    pub fn instances_from_stock(&self) -> u64 {
        self.from_stock.load(Ordering::Relaxed)
    }

    /// Calls that made their instance on their own path, instantiation failures included:
    /// with a stock, the calls that found it empty; with warm instances, those that found
    /// none idle. Calls that reused a warm instance are the rest.
    pub fn instances_made_on_call(&self) -> u64 {
        self.instantiated.load(Ordering::Relaxed)
    }
}
