//! [`StockKeeper`]: the one background thread per runtime that tears down retired instances
//! and refills every stock that asked.
//!
//! A caller only pushes its stock on the keeper's queue: it never wakes a thread on its path,
//! which costs a system call and, on a virtual machine, an interrupt to the other core (about
//! as much as the instantiation the stock saves). Instead, while there is work the keeper
//! looks at its queue every [`POLL`]; after [`IDLE_BEFORE_PARKING`] without work it parks,
//! and only the first call after that wakes it. The thread runs at the lowest priority
//! (`nice` 19): it uses cores the calls leave idle and yields to them when they are all busy,
//! so that under saturation calls make their own instances, as without a stock, instead of
//! sharing the cores with it. The thread starts with the first stock that asks, holds only a
//! weak reference to the runtime, and ends when the runtime is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::InstanceStock;
use crate::runtime::Runtime;

/// How often a busy keeper looks for work.
const POLL: Duration = Duration::from_micros(50);

/// How long a keeper polls without finding work before it parks.
const IDLE_BEFORE_PARKING: Duration = Duration::from_millis(20);

/// The handle a runtime keeps: dropping it stops the thread.
pub(crate) struct StockKeeper {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    stocks: Vec<Arc<InstanceStock>>,
    parked: bool,
    stopped: bool,
}

impl StockKeeper {
    /// Starts the keeper thread of `runtime`.
    pub(crate) fn start(runtime: &Arc<Runtime>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let thread = Keeper {
            shared: shared.clone(),
            runtime: Arc::downgrade(runtime),
        };
        std::thread::Builder::new()
            .name("plugmill-stock".into())
            .spawn(move || thread.run())?;
        Ok(Self { shared })
    }

    /// Queues `stock` for the keeper's next round; wakes the keeper only if it parked.
    pub(crate) fn submit(&self, stock: &Arc<InstanceStock>) {
        let mut queue = self.shared.lock();
        queue.stocks.push(stock.clone());
        if queue.parked {
            queue.parked = false;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for StockKeeper {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.stopped = true;
        queue.stocks.clear();
        self.shared.wake.notify_one();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The keeper thread's side.
struct Keeper {
    shared: Arc<Shared>,
    runtime: Weak<Runtime>,
}

impl Keeper {
    fn run(self) {
        if let Err(error) = rustix::process::nice(19) {
            tracing::debug!(%error, "the instance stock keeper runs at normal priority");
        }
        // Instantiating is async (it may run a start function that awaits a host function):
        // the keeper drives it on a runtime of its own.
        let executor = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(executor) => executor,
            Err(error) => {
                tracing::warn!(%error, "the instance stock keeper cannot start; calls instantiate their own instances");
                return;
            }
        };
        let mut idle_since = Instant::now();
        loop {
            let stocks = {
                let mut queue = self.shared.lock();
                if queue.stopped {
                    return;
                }
                if queue.stocks.is_empty() && idle_since.elapsed() >= IDLE_BEFORE_PARKING {
                    queue.parked = true;
                    while queue.parked && !queue.stopped {
                        queue = self
                            .shared
                            .wake
                            .wait(queue)
                            .unwrap_or_else(|p| p.into_inner());
                    }
                    idle_since = Instant::now();
                    continue;
                }
                std::mem::take(&mut queue.stocks)
            };
            if stocks.is_empty() {
                std::thread::sleep(POLL);
                continue;
            }
            let Some(runtime) = self.runtime.upgrade() else {
                return;
            };
            for stock in stocks {
                // A stock only the queue holds belongs to a plugin that is gone.
                if Arc::strong_count(&stock) > 1 {
                    executor.block_on(stock.tend(&runtime));
                }
            }
            idle_since = Instant::now();
        }
    }
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
