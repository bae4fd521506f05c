//! The runtime stage: one wasmtime engine, the linker every plugin is linked against, and the
//! stores calls run in, with their limits.
//!
//! - [`options`]: [`RuntimeOptions`], the limits and engine settings, and their bounds.
//! - [`engine`]: engine configuration, pooling allocator with on-demand fallback.
//! - [`epoch`]: the background ticker that drives per-call deadlines.
//! - [`stores`]: the store of one instance: grants, capabilities, limits, deadline, fuel.
//! - [`instances`]: instance reuse: the stock of ready instances (fresh mode, the default),
//!   its keeper thread, and warm instances (opt-in); the words used for it are defined there.
//!
//! The data of a store ([`HostState`]) and the capability contract live below the runtime,
//! in `host`; how a call ends ([`CallError`](crate::CallError), [`CallObserver`]) in `call`.

pub mod engine;
pub mod epoch;
pub mod instances;
pub mod options;
pub(crate) mod stores;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Linker;
use wasmtime::{Engine, Store};

use crate::call::CallObserver;
pub use crate::host::HostState;
use crate::host::{Capability, Shared, WasiGrants};
use instances::{InstanceStock, StockBudget, StockKeeper};
use stores::Stores;

pub use engine::AllocationKind;
pub use options::{bounds, Allocation, PoolingTuning, RuntimeOptions};

/// A function that adds host interfaces to the linker before any plugin is loaded.
pub type LinkerExtension =
    Arc<dyn Fn(&mut Linker<HostState>) -> anyhow::Result<()> + Send + Sync + 'static>;

/// The engine, the linker and the options: built once, shared by every plugin and call.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    wasi_linker: Linker<HostState>,
    options: RuntimeOptions,
    allocation: AllocationKind,
    no_grants: Arc<WasiGrants>,
    shared: Arc<Shared>,
    stores: Arc<Stores>,
    stock_budget: Arc<StockBudget>,
    keeper: StockKeeper<InstanceStock>,
    observer: Option<Arc<dyn CallObserver>>,
    _ticker: epoch::EpochTicker,
}

impl Runtime {
    /// Builds the engine (pooling allocator where possible), starts the epoch ticker and links
    /// WASI, every capability and every extension.
    pub(crate) fn new(
        options: RuntimeOptions,
        capabilities: Vec<Box<dyn Capability>>,
        extensions: &[LinkerExtension],
        observer: Option<Arc<dyn CallObserver>>,
    ) -> anyhow::Result<Self> {
        let (engine, allocation) = engine::build(&options)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let wasi_linker = linker.clone();
        let shared = Arc::new(Shared::new(capabilities));
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
        let stock_budget = Arc::new(StockBudget::for_slots(options.pool_instances));
        let stores = Arc::new(Stores::new(engine.clone(), shared.clone(), &options));
        let keeper = StockKeeper::new(Arc::downgrade(&stores));
        Ok(Self {
            engine,
            linker,
            wasi_linker,
            options,
            allocation,
            no_grants: Arc::default(),
            shared,
            stores,
            stock_budget,
            keeper,
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

    /// How many ready instances all stocks may hold together (their budget).
    pub fn stock_budget(&self) -> &Arc<StockBudget> {
        &self.stock_budget
    }

    /// The keeper of the instance stocks (its thread starts with the first stock that asks).
    pub(crate) fn keeper(&self) -> &StockKeeper<InstanceStock> {
        &self.keeper
    }

    /// The observer every call reports to, if any.
    pub(crate) fn observer(&self) -> Option<&Arc<dyn CallObserver>> {
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
        self.stores
            .make(plugin, &self.no_grants, timeout, self.options.fuel)
    }

    /// What makes every store of this runtime: a call makes its own with its plugin's grants
    /// and fuel.
    pub(crate) fn stores(&self) -> &Stores {
        &self.stores
    }
}
