//! [`RuntimeOptions`]: the limits and engine settings every plugin shares, their secure
//! defaults, and the [`bounds`] each is checked against; how instance memory is allocated
//! ([`Allocation`]) and made ([`PoolingTuning`]).

use std::time::Duration;

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
    /// Ready instances one plugin's stock may hold.
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
                problems.push(problem.into());
            }
        }
        if self.max_memory_bytes == 0 || self.pool_instances == 0 {
            problems.push("max_memory_bytes and pool_instances must be more than zero".into());
        }
        problems
    }
}

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

/// How the engine makes and resets instances: the settings that decide what instantiating
/// and tearing down an instance costs. The defaults are the fastest measured that keep every
/// protection on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolingTuning {
    /// Bytes of each linear memory and table kept resident when a pooled instance is torn
    /// down: reset in place instead of returned to the kernel (default 64 KiB).
    pub keep_resident_bytes: usize,
    /// Reset only the pages an instance dirtied, found with `PAGEMAP_SCAN` where the kernel
    /// has it (Linux 6.7+), instead of the whole kept-resident region (default on).
    pub pagemap_scan: bool,
    /// Map a memory's initial contents copy-on-write from an image instead of copying the
    /// data segments at each instantiation (default on).
    pub memory_init_cow: bool,
    /// Initialize table elements on first use instead of at instantiation (default on).
    pub table_lazy_init: bool,
    /// Zero the stack an async call ran on before another instance uses it: defense in
    /// depth against a compiler bug that would read an uninitialized stack slot. Off by
    /// default, as in wasmtime: it is paid on every call's path (see `docs/benchmarks.md`).
    pub async_stack_zeroing: bool,
    /// Bytes of each async stack reset with `memset` rather than returned to the kernel,
    /// when stacks are zeroed (default 64 KiB).
    pub async_stack_keep_resident: usize,
    /// Address space reserved for each linear memory, the size of a pool slot; `None` keeps
    /// wasmtime's default (4 GiB on 64-bit hosts, which lets compiled code skip bounds
    /// checks).
    pub memory_reservation: Option<u64>,
}

impl Default for PoolingTuning {
    fn default() -> Self {
        Self {
            keep_resident_bytes: 64 << 10,
            pagemap_scan: true,
            memory_init_cow: true,
            table_lazy_init: true,
            async_stack_zeroing: false,
            async_stack_keep_resident: 64 << 10,
            memory_reservation: None,
        }
    }
}
