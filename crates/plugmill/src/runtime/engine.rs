//! Engine configuration: epoch interruption for deadlines, backtraces for clear trap reports,
//! and the pooling allocator where the machine allows it, else on-demand allocation, tuned by
//! [`PoolingTuning`](super::options::PoolingTuning) (defaults chosen from `benches/instantiate.rs`; figures in
//! `docs/benchmarks.md`).

use anyhow::Context as _;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::options::{Allocation, RuntimeOptions};

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
        .consume_fuel(options.meters_fuel())
        .memory_init_cow(options.tuning.memory_init_cow)
        .table_lazy_init(options.tuning.table_lazy_init)
        .async_stack_zeroing(options.tuning.async_stack_zeroing);
    if let Some(bytes) = options.tuning.memory_reservation {
        config.memory_reservation(bytes);
    }
    if let Some(pooling) = pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    Engine::new(&config).map_err(anyhow::Error::from)
}

fn pooling(options: &RuntimeOptions) -> PoolingAllocationConfig {
    let tuning = &options.tuning;
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
        .pagemap_scan(if tuning.pagemap_scan {
            Enabled::Auto
        } else {
            Enabled::No
        })
        .linear_memory_keep_resident(tuning.keep_resident_bytes)
        .table_keep_resident(tuning.keep_resident_bytes)
        .async_stack_keep_resident(tuning.async_stack_keep_resident);
    pooling
}
