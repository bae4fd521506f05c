//! [`HostState`]: the data of every store. WASI is denied by default (no directories,
//! environment, arguments, sockets or inherited stdio) and built only when a plugin first
//! uses it; memory and instance growth are capped; the call deadline lives here so a warm
//! instance can re-arm it for each call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::output::{log_captured, CapturedOutput};
use super::sandbox::WasiGrants;
use super::RuntimeOptions;
use crate::capabilities::{CallScope, CallScopes, Capability, ScopeContext, Shared};

/// The error a call fails with when it runs past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
pub struct DeadlineExceeded;

/// The error a call fails with when it grows memory, tables or instances past its limit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MemoryLimitExceeded(pub String);

/// The data of one store: one call, or one warm instance.
pub struct HostState {
    plugin: Arc<str>,
    table: ResourceTable,
    wasi: Option<Wasi>,
    grants: Arc<WasiGrants>,
    output_cap: usize,
    limits: Limits,
    deadline: Instant,
    shared: Arc<Shared>,
    scopes: CallScopes,
}

/// WASI state, built on first use: most hook calls never touch WASI and skip this cost.
struct Wasi {
    ctx: WasiCtx,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

struct Limits {
    max_memory_bytes: usize,
    max_table_elements: usize,
    max_instances: usize,
}

impl HostState {
    pub(crate) fn new(
        plugin: Arc<str>,
        grants: Arc<WasiGrants>,
        shared: Arc<Shared>,
        options: &RuntimeOptions,
    ) -> Self {
        Self {
            plugin,
            table: ResourceTable::new(),
            wasi: None,
            grants,
            output_cap: options.output_capture_bytes,
            limits: Limits {
                max_memory_bytes: options.max_memory_bytes,
                max_table_elements: options.max_table_elements,
                max_instances: options.max_instances,
            },
            deadline: deadline_after(options.call_timeout),
            shared,
            scopes: CallScopes::default(),
        }
    }

    /// When the current call must be over: host functions that wait (on a database, the
    /// network) bound their waits by it, since the deadline cannot interrupt the host.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The capability of type `C`, when the runtime has it: for its host functions.
    pub fn capability<C: Capability>(&self) -> Option<Arc<C>> {
        self.shared.get::<C>()
    }

    /// The call scope of type `S` (see [`CallScope`]), created on first use in this call.
    pub fn call_scope<S: CallScope>(
        &mut self,
        create: impl FnOnce(ScopeContext<'_>) -> S,
    ) -> &mut S {
        let context = ScopeContext {
            shared: &self.shared,
            plugin: &self.plugin,
            deadline: self.deadline,
        };
        self.scopes.get_or_insert_with(|| create(context))
    }

    /// Ends every call scope: what the call left open is released before the next call.
    pub(crate) async fn end_call(&mut self) {
        // Most calls open no scope: no future to poll for them.
        if !self.scopes.is_empty() {
            self.scopes.end_call().await;
        }
    }

    /// The name of the plugin this store runs (for host functions that need the caller).
    pub fn plugin_name(&self) -> &str {
        &self.plugin
    }

    /// The resource table, for host interfaces that hand out resources.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    pub(crate) fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    /// Logs and clears what the plugin wrote to stdout and stderr; returns the stderr text.
    pub(crate) fn flush_output(&self) -> String {
        match &self.wasi {
            Some(wasi) => {
                log_captured(&self.plugin, "stdout", &wasi.stdout);
                log_captured(&self.plugin, "stderr", &wasi.stderr)
            }
            None => String::new(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let cap = self.output_cap;
        let wasi = self.wasi.get_or_insert_with(|| {
            let (stdout, stderr) = (CapturedOutput::new(cap), CapturedOutput::new(cap));
            let ctx = self.grants.context(&self.plugin, &stdout, &stderr);
            Wasi {
                ctx,
                stdout,
                stderr,
            }
        });
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded(format!(
                "linear memory would grow from {current} to {desired} bytes, over the limit of {} bytes",
                self.max_memory_bytes
            ))));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            return Err(wasmtime::Error::new(MemoryLimitExceeded(format!(
                "a table would grow from {current} to {desired} elements, over the limit of {}",
                self.max_table_elements
            ))));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_instances
    }

    fn memories(&self) -> usize {
        self.max_instances
    }
}

/// `timeout` from now; a timeout too long to be added to the clock means no deadline in
/// practice (the engine's settings bound timeouts far below that, but code may not).
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + crate::config::values::MAX_DURATION)
}

/// Sets the deadline of the next call on `store` to `timeout` from now.
pub(crate) fn arm_deadline(store: &mut Store<HostState>, timeout: Duration) {
    store.data_mut().deadline = deadline_after(timeout);
    store.set_epoch_deadline(1);
}

/// Called at every epoch tick while wasm runs: fail past the deadline, else yield to the
/// executor so one long call never starves the others on its thread.
pub(crate) fn check_deadline(
    store: StoreContextMut<'_, HostState>,
) -> wasmtime::Result<UpdateDeadline> {
    if Instant::now() >= store.data().deadline {
        Err(wasmtime::Error::new(DeadlineExceeded))
    } else {
        Ok(UpdateDeadline::Yield(1))
    }
}
