//! [`StockKeeper`]: the one background thread per runtime that tends every stock that asked:
//! tears down its retired instances and makes ready ones (see [`Tend`]).
//!
//! A caller only pushes its stock on the keeper's queue: it never wakes a thread on its path,
//! which costs a system call and, on a virtual machine, an interrupt to the other core (about
//! as much as the instantiation the stock saves). Instead, while there is work the keeper
//! looks at its queue every [`POLL`]; after [`IDLE_BEFORE_PARKING`] without work it parks,
//! and only the first call after that wakes it. The thread runs at the lowest priority
//! (`nice` 19): it uses cores the calls leave idle and yields to them when they are all busy,
//! so that under saturation calls make their own instances, as without a stock, instead of
//! sharing the cores with it. The thread starts with the first stock that asks, holds only a
//! weak reference to the runtime's [`Stores`], and ends when the runtime is dropped.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::runtime::stores::Stores;

/// How often a busy keeper looks for work.
const POLL: Duration = Duration::from_micros(50);

/// How long a keeper polls without finding work before it parks.
const IDLE_BEFORE_PARKING: Duration = Duration::from_millis(20);

/// What the keeper does for one stock in a round.
pub(crate) trait Tend: Send + Sync + 'static {
    /// Tears down the stock's retired instances, then makes ready ones until it is full.
    fn tend(&self, stores: &Stores) -> impl Future<Output = ()>;
}

/// The keeper of one runtime's stocks, its thread started by the first stock that asks.
pub(crate) struct StockKeeper<S> {
    stores: Weak<Stores>,
    /// `None` when the thread could not start: stocks then stay empty and calls make their
    /// own instances.
    thread: OnceLock<Option<KeeperThread<S>>>,
}

impl<S: Tend> StockKeeper<S> {
    /// A keeper whose thread will make instances with `stores`.
    pub(crate) fn new(stores: Weak<Stores>) -> Self {
        Self {
            stores,
            thread: OnceLock::new(),
        }
    }

    /// Queues `stock` for the keeper's next round, starting the keeper on first use; wakes
    /// the keeper only if it parked.
    pub(crate) fn submit(&self, stock: &Arc<S>) {
        let thread = self.thread.get_or_init(|| {
            KeeperThread::start(self.stores.clone())
                .inspect_err(|error| {
                    tracing::warn!(%error, "the instance stock keeper thread cannot start");
                })
                .ok()
        });
        if let Some(thread) = thread {
            thread.submit(stock);
        }
    }
}

/// The handle on the keeper's thread: dropping it stops the thread.
struct KeeperThread<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    queue: Mutex<Queue<S>>,
    wake: Condvar,
}

struct Queue<S> {
    stocks: Vec<Arc<S>>,
    parked: bool,
    stopped: bool,
}

impl<S: Tend> KeeperThread<S> {
    fn start(stores: Weak<Stores>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                stocks: Vec::new(),
                parked: false,
                stopped: false,
            }),
            wake: Condvar::new(),
        });
        let thread = Keeper {
            shared: shared.clone(),
            stores,
        };
        std::thread::Builder::new()
            .name("plugmill-stock".into())
            .spawn(move || thread.run())?;
        Ok(Self { shared })
    }

    fn submit(&self, stock: &Arc<S>) {
        let mut queue = self.shared.lock();
        queue.stocks.push(stock.clone());
        if queue.parked {
            queue.parked = false;
            self.shared.wake.notify_one();
        }
    }
}

impl<S> Drop for KeeperThread<S> {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.stopped = true;
        queue.stocks.clear();
        self.shared.wake.notify_one();
    }
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Queue<S>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The keeper thread's side.
struct Keeper<S> {
    shared: Arc<Shared<S>>,
    stores: Weak<Stores>,
}

impl<S: Tend> Keeper<S> {
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
            let Some(stores) = self.stores.upgrade() else {
                return;
            };
            for stock in stocks {
                // A stock only the queue holds belongs to a plugin that is gone.
                if Arc::strong_count(&stock) > 1 {
                    executor.block_on(stock.tend(&stores));
                }
            }
            idle_since = Instant::now();
        }
    }
}
