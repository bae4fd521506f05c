//! Instance reuse: which instance a call runs on, where it comes from and what becomes of it
//! after the call. The words below are used throughout the code, its logs, its metrics and
//! the documentation.
//!
//! - An **instance** is one instance of a plugin's component with its store
//!   ([`PluginInstance`]). A call **takes** one, runs on it, and then it is **torn down**
//!   (dropped, which returns its pooling-allocator slot) or kept for later.
//! - **Fresh mode** (the default): every call runs on an instance no call has used before.
//!   - A plugin's **stock** ([`InstanceStock`]) holds **ready** instances: instantiated ahead
//!     of calls, never used. A used instance never goes back to it.
//!   - The **keeper** ([`StockKeeper`]) is the runtime's one background thread that **tends**
//!     each stock: it tears down the instances calls **retired** (handed back after their
//!     call), then instantiates ready ones until the stock is full, so the slot just freed
//!     goes back to the same component and neither cost is on a call's path.
//!   - A call that finds the stock empty **instantiates** its own instance on its path and
//!     tears it down itself: the keeper tears down only what it made, so when calls come
//!     faster than it can make instances it does no more than the stock delivers, and calls
//!     degrade to the speed of no stock instead of queueing behind a keeper they compete with
//!     (measured in `docs/benchmarks.md`).
//!   - Bounds: a plugin has no stock until its first call; then at most its capacity of ready
//!     instances ([`DEFAULT_INSTANCE_STOCK`] unless configured; 0 means no stock) and as many
//!     retired ones waiting (past that, a call tears its instance down itself). Across
//!     plugins, the **budget** ([`StockBudget`]) caps ready instances at a quarter of the
//!     pooling allocator's slots, so stocks never take the slots calls need. When
//!     instantiating fails in the background (a full pool, say) the stock **pauses** until a
//!     call instantiates on its own successfully; the failure itself reaches the call that
//!     instantiates.
//! - **Warm mode** (opt-in per plugin, `warm_instances`): a plugin's **warm instances**
//!   ([`WarmInstances`]) are reused across calls. A call takes an **idle** one or
//!   instantiates one, and **puts it back** only if the call succeeded; one that trapped, ran
//!   past its deadline or its limits is torn down and never used again. State carries over
//!   between calls of that plugin.
//! - Each call reports where its instance came from ([`InstanceSource`](crate::InstanceSource)):
//!   `stock`, `instantiated` or `warm`; a stock's misses are its `instantiated` calls.
//!
//! Modules: [`instance`] ([`PluginInstance`]), [`stock`] ([`InstanceStock`],
//! [`DEFAULT_INSTANCE_STOCK`]), [`keeper`] ([`StockKeeper`], its thread and how it waits for
//! work), [`budget`] ([`StockBudget`]) and [`warm`] ([`WarmInstances`]).

pub mod budget;
pub mod instance;
pub(crate) mod keeper;
pub mod stock;
pub mod warm;

pub use budget::StockBudget;
pub use instance::PluginInstance;
pub(crate) use keeper::StockKeeper;
pub use stock::{InstanceStock, DEFAULT_INSTANCE_STOCK};
pub use warm::WarmInstances;
