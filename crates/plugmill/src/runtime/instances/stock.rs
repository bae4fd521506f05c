//! [`InstanceStock`]: one plugin's stock of ready instances, in the fresh mode (the words
//! are those of the [overview](super)): taken by calls, refilled by the keeper, retired
//! after the call for the keeper to tear down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use wasmtime::component::InstancePre;

use super::budget::StockBudget;
use super::instance::PluginInstance;
use super::keeper::{StockKeeper, Tend};
use crate::host::{HostState, WasiGrants};
use crate::runtime::stores::Stores;

/// Ready instances a plugin's stock keeps by default, once the plugin is called: 16. In
/// the open-loop bench (`docs/benchmarks.md`) a stock of 16 cuts a call's median latency
/// 4-5x from a quarter to half of one core's load and about 20x at 90%, with lower tails at
/// every load and the same saturated throughput as no stock; a stock of 4 drains in the
/// bursts of random arrivals. A busy plugin's ready instance costs about 20-50 KiB resident;
/// all stocks of a runtime together hold at most a quarter of the pooling allocator's slots.
pub const DEFAULT_INSTANCE_STOCK: usize = 16;

/// What the keeper needs to make an instance of one plugin.
struct Recipe {
    pre: InstancePre<HostState>,
    plugin: Arc<str>,
    grants: Arc<WasiGrants>,
    fuel: Option<u64>,
    timeout: Duration,
}

/// The stock of one plugin.
pub struct InstanceStock {
    recipe: Recipe,
    capacity: usize,
    budget: Arc<StockBudget>,
    ready: Mutex<Vec<PluginInstance>>,
    retired: Mutex<Vec<PluginInstance>>,
    queued: Queued,
    /// Set when instantiating failed in the background; cleared by a call that instantiated.
    paused: AtomicBool,
}

impl InstanceStock {
    /// A stock of at most `capacity` ready instances of the component behind `pre`, made with
    /// the plugin's grants and fuel; empty until the first call.
    pub(crate) fn new(
        capacity: usize,
        budget: Arc<StockBudget>,
        pre: InstancePre<HostState>,
        plugin: Arc<str>,
        grants: Arc<WasiGrants>,
        fuel: Option<u64>,
        timeout: Duration,
    ) -> Self {
        Self {
            recipe: Recipe {
                pre,
                plugin,
                grants,
                fuel,
                timeout,
            },
            capacity,
            budget,
            ready: Mutex::new(Vec::with_capacity(capacity)),
            retired: Mutex::new(Vec::with_capacity(capacity)),
            queued: Queued::default(),
            paused: AtomicBool::new(false),
        }
    }

    /// A ready instance, if the stock holds one; asks the keeper to refill the stock. The
    /// caller arms the deadline and fuel of its call.
    pub(crate) fn take(self: &Arc<Self>, keeper: &StockKeeper<Self>) -> Option<PluginInstance> {
        let instance = lock(&self.ready).pop();
        if instance.is_some() {
            self.budget.release(1);
        }
        self.ask_keeper(keeper);
        instance
    }

    /// Hands a used instance taken from the stock over for teardown in the background; drops
    /// it here when the keeper is already behind by a full stock's worth. (An instance a call
    /// made on its own path, the stock being empty, is torn down on that path too: the keeper
    /// is behind then, and handing it more work would only slow the calls it competes with.)
    pub(crate) fn retire(self: &Arc<Self>, keeper: &StockKeeper<Self>, instance: PluginInstance) {
        let overflow = {
            let mut retired = lock(&self.retired);
            if retired.len() < self.capacity {
                retired.push(instance);
                None
            } else {
                Some(instance)
            }
        };
        self.ask_keeper(keeper);
        drop(overflow);
    }

    /// A call made its own instance: instantiating works, so the stock may resume.
    pub(crate) fn instantiated_inline(&self) {
        if self.paused.load(Ordering::Relaxed) {
            self.paused.store(false, Ordering::Relaxed);
        }
    }

    /// Instances ready now.
    pub fn ready(&self) -> usize {
        lock(&self.ready).len()
    }

    /// Queues the stock for the keeper if it has work and is not queued yet. The flag is read
    /// first: when the keeper is behind (the stock is queued), a call touches no lock here.
    fn ask_keeper(self: &Arc<Self>, keeper: &StockKeeper<Self>) {
        if !self.queued.is_marked() && self.has_work() && self.queued.mark() {
            keeper.submit(self);
        }
    }

    /// Whether the keeper has something to do: an instance to tear down, or room in the
    /// stock and in the budget.
    fn has_work(&self) -> bool {
        !lock(&self.retired).is_empty() || (self.wants_more() && self.budget.has_room())
    }

    fn wants_more(&self) -> bool {
        !self.paused.load(Ordering::Relaxed) && lock(&self.ready).len() < self.capacity
    }

    /// Instantiates one instance into the stock; on failure, pauses the stock. Holds one unit
    /// of the budget on entry, and keeps it only for an instance put in the stock.
    async fn make_one(&self, stores: &Stores) {
        let recipe = &self.recipe;
        let mut store = stores.make(&recipe.plugin, &recipe.grants, recipe.timeout, recipe.fuel);
        match recipe.pre.instantiate_async(&mut store).await {
            Ok(instance) => {
                let mut ready = lock(&self.ready);
                if ready.len() < self.capacity {
                    ready.push(PluginInstance { store, instance });
                    return;
                }
            }
            Err(error) => {
                self.paused.store(true, Ordering::Relaxed);
                tracing::debug!(
                    plugin = %recipe.plugin,
                    error = format!("{error:#}"),
                    "instantiating in the background failed; calls instantiate their own"
                );
            }
        }
        self.budget.release(1);
    }
}

impl Tend for InstanceStock {
    /// The keeper's round for this stock: tear down what was retired (freeing its slots
    /// first), then instantiate until the stock is full.
    async fn tend(&self, stores: &Stores) {
        self.queued.clear();
        loop {
            let retired = std::mem::take(&mut *lock(&self.retired));
            drop(retired);
            if !(self.wants_more() && self.budget.acquire()) {
                return;
            }
            self.make_one(stores).await;
        }
    }
}

impl Drop for InstanceStock {
    /// A stock dropped with its plugin (on reload or unload) gives its budget back.
    fn drop(&mut self) {
        let ready = self.ready.get_mut().unwrap_or_else(|p| p.into_inner());
        self.budget.release(ready.len());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether a stock is on the keeper's queue: set by the caller that queues it, cleared by
/// the keeper before it tends the stock (so work that arrives meanwhile queues it again).
#[derive(Default)]
pub(crate) struct Queued(AtomicBool);

impl Queued {
    /// Marks the stock queued; false if it already was.
    pub(crate) fn mark(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    /// Whether the stock is queued now.
    pub(crate) fn is_marked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::Release);
    }
}
