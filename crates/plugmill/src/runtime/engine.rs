//! Engine configuration: epoch interruption for deadlines, backtraces for clear trap reports,
//! and the pooling allocator where the machine allows it, else on-demand allocation.

use anyhow::Context as _;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::RuntimeOptions;

/// How instance memory is allocated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Allocation {
    /// Pooling where the machine allows it, on-demand otherwise.
    #[default]
    Auto,
    /// Pooling, or fail.
    Pooling,
    /// Allocate each instance on demand.
    OnDemand,
}

/// The allocator an engine actually uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocationKind {
    /// Pre-reserved slots: fast instantiation, bounded concurrency.
    Pooling,
    /// mmap per instance.
    OnDemand,
}

/// Builds the engine for `options`, falling back from pooling to on-demand under
/// [`Allocation::Auto`].
pub fn build(options: &RuntimeOptions) -> anyhow::Result<(Engine, AllocationKind)> {
    match options.allocation {
        Allocation::OnDemand => Ok((engine(options, None)?, AllocationKind::OnDemand)),
        Allocation::Pooling => Ok((
            engine(options, Some(pooling(options)))
                .context("the pooling allocator is not available on this machine")?,
            AllocationKind::Pooling,
        )),
        Allocation::Auto => match engine(options, Some(pooling(options))) {
            Ok(engine) => Ok((engine, AllocationKind::Pooling)),
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable, allocating on demand");
                Ok((engine(options, None)?, AllocationKind::OnDemand))
            }
        },
    }
}

fn engine(
    options: &RuntimeOptions,
    pooling: Option<PoolingAllocationConfig>,
) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .wasm_backtrace_max_frames(std::num::NonZeroUsize::new(32))
        .max_wasm_stack(options.max_wasm_stack)
        .consume_fuel(options.meters_fuel());
    if let Some(pooling) = pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    Engine::new(&config).map_err(anyhow::Error::from)
}

fn pooling(options: &RuntimeOptions) -> PoolingAllocationConfig {
    let slots = options.pool_instances.max(1);
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(16))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        .max_core_instances_per_component(32)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_memory_size(options.max_memory_bytes)
        .table_elements(options.max_table_elements)
        // Reset only the pages a call dirtied (PAGEMAP_SCAN, Linux 6.7+) and keep them
        // resident, instead of a memset of the whole region or page faults on the next call.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(64 << 10)
        .table_keep_resident(64 << 10);
    pooling
}
