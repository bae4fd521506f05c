//! [`Stores`]: makes the store one instance runs in, for one call or ahead of calls: the
//! plugin's WASI grants, the runtime's capabilities, growth limits, the deadline (checked at
//! every epoch tick) and, when metered, fuel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, StoreContextMut, UpdateDeadline};

use super::options::RuntimeOptions;
use crate::host::limits::Limits;
use crate::host::{DeadlineExceeded, HostState, Shared, WasiGrants};

/// What every store of a runtime is made with.
pub(crate) struct Stores {
    engine: Engine,
    shared: Arc<Shared>,
    limits: Limits,
    output_cap: usize,
    fuel: Option<u64>,
    meters_fuel: bool,
}

impl Stores {
    pub(crate) fn new(engine: Engine, shared: Arc<Shared>, options: &RuntimeOptions) -> Self {
        Self {
            engine,
            shared,
            limits: Limits {
                max_memory_bytes: options.max_memory_bytes,
                max_table_elements: options.max_table_elements,
                max_instances: options.max_instances,
            },
            output_cap: options.output_capture_bytes,
            fuel: options.fuel,
            meters_fuel: options.meters_fuel(),
        }
    }

    /// A new store for `plugin` with its WASI `grants`, limits set and the deadline (and
    /// fuel, when metered) armed.
    pub(crate) fn make(
        &self,
        plugin: &Arc<str>,
        grants: &Arc<WasiGrants>,
        timeout: Duration,
        fuel: Option<u64>,
    ) -> Store<HostState> {
        let state = HostState::new(
            plugin.clone(),
            grants.clone(),
            self.shared.clone(),
            self.limits,
            self.output_cap,
            timeout,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state.limiter());
        store.epoch_deadline_callback(check_deadline);
        arm_deadline(&mut store, timeout);
        self.refuel(&mut store, fuel);
        store
    }

    /// Sets the fuel of the next call when fuel is metered; returns the budget: the plugin's
    /// own, else the default, else unlimited.
    pub(crate) fn refuel(&self, store: &mut Store<HostState>, fuel: Option<u64>) -> Option<u64> {
        if !self.meters_fuel {
            return None;
        }
        let budget = fuel.or(self.fuel).unwrap_or(u64::MAX);
        store.set_fuel(budget).ok()?;
        Some(budget)
    }
}

/// Sets the deadline of the next call on `store` to `timeout` from now.
pub(crate) fn arm_deadline(store: &mut Store<HostState>, timeout: Duration) {
    store.data_mut().set_deadline_after(timeout);
    store.set_epoch_deadline(1);
}

/// Called at every epoch tick while wasm runs: fail past the deadline, else yield to the
/// executor so one long call never starves the others on its thread.
fn check_deadline(store: StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> {
    if Instant::now() >= store.data().deadline() {
        Err(wasmtime::Error::new(DeadlineExceeded))
    } else {
        Ok(UpdateDeadline::Yield(1))
    }
}
