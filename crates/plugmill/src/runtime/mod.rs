//! The runtime stage: one wasmtime engine, the linker every plugin is linked against, and the
//! per-call store with its limits.
//!
//! - [`engine`]: engine configuration, pooling allocator with on-demand fallback.
//! - [`epoch`]: the background ticker that drives per-call deadlines.
//! - [`state`]: [`HostState`], the data of every store: WASI (denied by default), captured
//!   output, limits and the call deadline.
//! - [`output`]: size-capped capture of plugin stdout and stderr.
//! - [`sandbox`]: what a plugin may reach through WASI (nothing unless granted).
//! - [`warm`]: the opt-in pool of warm instances.
//! - [`stock`]: never-used instances made ahead of calls, and used ones torn down after,
//!   off the call's path.

pub mod engine;
pub mod epoch;
pub mod output;
pub mod sandbox;
pub mod state;
pub mod stock;
pub mod warm;

use std::sync::Arc;

use anyhow::Context as _;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Engine, Store};

use crate::capabilities::{Capability, Shared};

pub use engine::{Allocation, AllocationKind, PoolingTuning};
#[cfg(feature = "sqlite")]
pub(crate) use state::deadline_after;
pub use state::{DeadlineExceeded, HostState, MemoryLimitExceeded};

/// A function that adds host interfaces to the linker before any plugin is loaded.
pub type LinkerExtension =
    Arc<dyn Fn(&mut Linker<HostState>) -> anyhow::Result<()> + Send + Sync + 'static>;

/// Limits and engine settings shared by every plugin. The defaults are the secure ones.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Deadline of one hook, route or task call (default 30 s).
    pub call_timeout: Duration,
    /// Deadline for instantiating a plugin and reading its manifest at load (default 5 s).
    pub manifest_timeout: Duration,
    /// Linear memory one instance may grow to, in bytes (default 256 MiB).
    pub max_memory_bytes: usize,
    /// Table elements one table may grow to (default 100 000).
    pub max_table_elements: usize,
    /// Core instances, tables and memories one component instance may create (default 64).
    pub max_instances: usize,
    /// Bytes of stdout and of stderr kept per call before the rest is dropped (default 64 KiB).
    pub output_capture_bytes: usize,
    /// How instance memory is allocated (default: pooling where the machine allows it).
    pub allocation: Allocation,
    /// Slots of the pooling allocator: how many component instances may be live at once.
    pub pool_instances: u32,
    /// Period of the epoch ticker: deadlines are checked this often (default 5 ms).
    pub epoch_tick: Duration,
    /// Wasm stack a call may use, in bytes (default 512 KiB).
    pub max_wasm_stack: usize,
    /// Instruction budget of one call; `Some` turns fuel metering on (default off).
    pub fuel: Option<u64>,
    /// Meters fuel even without a default budget: the builder sets it when any plugin has a
    /// budget of its own. Plugins without one then run unlimited.
    pub meter_fuel: bool,
    /// How instances are made and reset (the defaults come from measurements).
    pub tuning: PoolingTuning,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            manifest_timeout: Duration::from_secs(5),
            max_memory_bytes: 256 << 20,
            max_table_elements: 100_000,
            max_instances: 64,
            output_capture_bytes: 64 << 10,
            allocation: Allocation::Auto,
            pool_instances: 1_000,
            epoch_tick: Duration::from_millis(5),
            max_wasm_stack: 512 << 10,
            fuel: None,
            meter_fuel: false,
            tuning: PoolingTuning::default(),
        }
    }
}

/// Upper bounds of the settings that size memory, and of the epoch tick.
pub mod bounds {
    use std::time::Duration;

    /// Linear memory of one instance: 4 GiB, all that 32-bit wasm addresses.
    pub const MAX_MEMORY_BYTES: usize = 4 << 30;
    /// Pooling allocator slots (each reserves address space for an instance's memory).
    pub const MAX_POOL_INSTANCES: u32 = 100_000;
    /// Warm instances kept per plugin.
    pub const MAX_WARM_INSTANCES: usize = 1_024;
    /// Never-used instances kept ready per plugin.
    pub const MAX_INSTANCE_STOCK: usize = 1_024;
    /// Bytes of stdout and of stderr kept per call.
    pub const MAX_OUTPUT_CAPTURE_BYTES: usize = 64 << 20;
    /// Elements of one table.
    pub const MAX_TABLE_ELEMENTS: usize = 10_000_000;
    /// Core instances, tables and memories of one component instance.
    pub const MAX_INSTANCES: usize = 10_000;
    /// Wasm stack of one call.
    pub const MAX_WASM_STACK: usize = 64 << 20;
    /// The shortest and longest epoch tick.
    pub const EPOCH_TICK: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(1));
}

impl RuntimeOptions {
    /// Whether calls are metered with fuel.
    pub fn meters_fuel(&self) -> bool {
        self.fuel.is_some() || self.meter_fuel
    }

    /// Every setting that would overflow, size memory beyond reason or make no sense: one
    /// message per setting.
    pub fn problems(&self) -> Vec<String> {
        use crate::config::values::check_duration;
        let mut problems = Vec::new();
        for (name, duration) in [
            ("call_timeout", self.call_timeout),
            ("manifest_timeout", self.manifest_timeout),
        ] {
            if let Err(problem) = check_duration(duration) {
                problems.push(format!("{name}: {problem}"));
            }
        }
        let (shortest, longest) = bounds::EPOCH_TICK;
        if self.epoch_tick < shortest || self.epoch_tick > longest {
            problems.push(format!(
                "epoch_tick: {:?} is outside {shortest:?} to {longest:?}",
                self.epoch_tick
            ));
        }
        let counts = [
            (
                "max_memory_bytes",
                self.max_memory_bytes as u64,
                bounds::MAX_MEMORY_BYTES as u64,
            ),
            (
                "pool_instances",
                u64::from(self.pool_instances),
                u64::from(bounds::MAX_POOL_INSTANCES),
            ),
            (
                "output_capture_bytes",
                self.output_capture_bytes as u64,
                bounds::MAX_OUTPUT_CAPTURE_BYTES as u64,
            ),
            (
                "max_table_elements",
                self.max_table_elements as u64,
                bounds::MAX_TABLE_ELEMENTS as u64,
            ),
            (
                "max_instances",
                self.max_instances as u64,
                bounds::MAX_INSTANCES as u64,
            ),
            (
                "max_wasm_stack",
                self.max_wasm_stack as u64,
                bounds::MAX_WASM_STACK as u64,
            ),
        ];
        for (name, value, max) in counts {
            if let Err(problem) = crate::config::values::check_count(name, value, max) {
                problems.push(problem);
            }
        }
        if self.max_memory_bytes == 0 || self.pool_instances == 0 {
            problems.push("max_memory_bytes and pool_instances must be more than zero".into());
        }
        problems
    }
}

/// The engine, the linker and the options: built once, shared by every plugin and call.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    wasi_linker: Linker<HostState>,
    options: RuntimeOptions,
    allocation: AllocationKind,
    no_grants: Arc<sandbox::WasiGrants>,
    shared: Arc<Shared>,
    stock_budget: Arc<stock::StockBudget>,
    /// Started with the first stock that asks; `None` when its thread could not start.
    stock_keeper: std::sync::OnceLock<Option<stock::keeper::StockKeeper>>,
    observer: Option<Arc<dyn crate::dispatch::observe::CallObserver>>,
    _ticker: epoch::EpochTicker,
}

impl Runtime {
    /// Builds the engine (pooling allocator where possible), starts the epoch ticker and links
    /// WASI, every capability and every extension.
    pub(crate) fn new(
        options: RuntimeOptions,
        capabilities: Vec<Box<dyn Capability>>,
        extensions: &[LinkerExtension],
        observer: Option<Arc<dyn crate::dispatch::observe::CallObserver>>,
    ) -> anyhow::Result<Self> {
        let (engine, allocation) = engine::build(&options)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let wasi_linker = linker.clone();
        let shared = Shared::new(capabilities);
        for capability in shared.iter() {
            capability
                .add_to_linker(&mut linker)
                .with_context(|| format!("linking the {} capability", capability.name()))?;
        }
        for extension in extensions {
            extension(&mut linker)?;
        }
        let ticker = epoch::EpochTicker::start(&engine, options.epoch_tick)
            .context("starting the epoch ticker thread")?;
        let stock_budget = Arc::new(stock::StockBudget::for_slots(options.pool_instances));
        Ok(Self {
            engine,
            linker,
            wasi_linker,
            options,
            allocation,
            no_grants: Arc::default(),
            shared: Arc::new(shared),
            stock_budget,
            stock_keeper: std::sync::OnceLock::new(),
            observer,
            _ticker: ticker,
        })
    }

    /// The wasmtime engine every plugin is compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker holding every host interface.
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// The linker holding WASI only: manifests are read with it, before grants are checked.
    pub fn wasi_linker(&self) -> &Linker<HostState> {
        &self.wasi_linker
    }

    /// State shared by every call (see [`Shared`]).
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// How many never-used instances all plugins' stocks may hold together.
    pub fn stock_budget(&self) -> &Arc<stock::StockBudget> {
        &self.stock_budget
    }

    /// Runs `work` with the keeper of the instance stocks, started on first use; without a
    /// keeper (its thread could not start) stocks stay empty and calls make their own.
    pub(crate) fn stock_keeper(self: &Arc<Self>, work: impl FnOnce(&stock::keeper::StockKeeper)) {
        let keeper = self.stock_keeper.get_or_init(|| {
            stock::keeper::StockKeeper::start(self)
                .inspect_err(|error| {
                    tracing::warn!(%error, "the instance stock keeper thread cannot start");
                })
                .ok()
        });
        if let Some(keeper) = keeper {
            work(keeper);
        }
    }

    /// The observer every call reports to, if any.
    pub(crate) fn observer(&self) -> Option<&Arc<dyn crate::dispatch::observe::CallObserver>> {
        self.observer.as_ref()
    }

    /// The options this runtime was built with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// Which allocator the engine ended up with.
    pub fn allocation(&self) -> AllocationKind {
        self.allocation
    }

    /// A new store for one call to `plugin`, with nothing granted, limits set and the
    /// deadline (and fuel, when metered) armed.
    pub fn new_store(&self, plugin: &Arc<str>, timeout: Duration) -> Store<HostState> {
        self.new_store_with(plugin, &self.no_grants, timeout, self.options.fuel)
    }

    /// Like [`Self::new_store`], with WASI grants and a fuel budget of the plugin's own.
    pub fn new_store_with(
        &self,
        plugin: &Arc<str>,
        grants: &Arc<sandbox::WasiGrants>,
        timeout: Duration,
        fuel: Option<u64>,
    ) -> Store<HostState> {
        let state = HostState::new(
            plugin.clone(),
            grants.clone(),
            self.shared.clone(),
            &self.options,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state.limiter());
        store.epoch_deadline_callback(state::check_deadline);
        state::arm_deadline(&mut store, timeout);
        self.refuel(&mut store, fuel);
        store
    }

    /// Sets the fuel of the next call when fuel is metered; returns the budget: the plugin's
    /// own, else the default, else unlimited.
    pub(crate) fn refuel(&self, store: &mut Store<HostState>, fuel: Option<u64>) -> Option<u64> {
        if !self.options.meters_fuel() {
            return None;
        }
        let budget = fuel.or(self.options.fuel).unwrap_or(u64::MAX);
        store.set_fuel(budget).ok()?;
        Some(budget)
    }
}
