//! The call path of one export of one plugin, all in one place (the words are those of
//! [instance reuse](crate::runtime::instances)):
//!
//! 1. take an instance: a ready one from the plugin's stock (fresh mode), an idle one of its
//!    warm instances (warm mode), or else instantiate one on the call's path;
//! 2. arm the deadline and the fuel, and call;
//! 3. end what the call left open (see [`CallScope`](crate::capabilities::CallScope)) and log
//!    what the plugin printed;
//! 4. retire the instance to the stock's keeper if it came from the stock, put it back among
//!    the warm instances if the call succeeded in warm mode, else tear it down;
//! 5. classify a failure ([`CallError`]) and report the call to the observer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument as _;
use wasmtime::component::{ComponentNamedList, Func, Lift, Lower, Val};

use super::check::check_args;
use super::signature::describe_func;
use super::{ExportedFunc, Plugin};
use crate::call::error::classify;
use crate::call::{CallError, CallOutcome, FinishedCall, InstanceSource};
use crate::runtime::instances::PluginInstance;
use crate::runtime::stores::arm_deadline;
use crate::runtime::Runtime;

/// One call in progress: the instance it runs on and what it needs to end.
struct Call {
    instance: PluginInstance,
    func: Func,
    fuel_budget: Option<u64>,
    timeout: Duration,
    /// When the call started, when an observer wants to know how long it took.
    started: Option<Instant>,
    source: InstanceSource,
}

/// Calls `function` of `plugin` with dynamically typed arguments, checked against its
/// signature first.
pub(crate) async fn call_dynamic(
    plugin: &Plugin,
    runtime: &Arc<Runtime>,
    function: &str,
    args: &[Val],
) -> Result<Vec<Val>, CallError> {
    let export = plugin.function(function)?;
    check_args(&export.ty, args)
        .map_err(|reason| bad_arguments(plugin, export, function, reason))?;
    async {
        let mut call = start(plugin, runtime, export, function).await?;
        let mut results = vec![Val::Bool(false); export.ty.results().len()];
        let outcome = call
            .func
            .call_async(&mut call.instance.store, args, &mut results)
            .await;
        let returned_err = matches!(results.as_slice(), [Val::Result(Err(_))]);
        finish(plugin, runtime, call, function, outcome, returned_err)
            .await
            .map(|()| results)
    }
    .instrument(call_span(&plugin.name, function))
    .await
}

/// Calls `function` of `plugin` through a typed function: no dynamic values on the way in or
/// out.
pub(crate) async fn call_typed<P, R>(
    plugin: &Plugin,
    runtime: &Arc<Runtime>,
    function: &str,
    args: P,
) -> Result<R, CallError>
where
    P: ComponentNamedList + Lower + Send + Sync,
    R: ComponentNamedList + Lift + Send + Sync + 'static,
{
    let export = plugin.function(function)?;
    async {
        let mut call = start(plugin, runtime, export, function).await?;
        let typed = match call.func.typed::<P, R>(&call.instance.store) {
            Ok(typed) => typed,
            Err(error) => {
                return Err(bad_arguments(
                    plugin,
                    export,
                    function,
                    format!("{error:#}"),
                ))
            }
        };
        let outcome = typed.call_async(&mut call.instance.store, args).await;
        finish(plugin, runtime, call, function, outcome, false).await
    }
    .instrument(call_span(&plugin.name, function))
    .await
}

/// Takes the call's instance (ready from the stock, idle warm, or instantiated here), arms
/// its deadline and fuel, and finds the export.
async fn start(
    plugin: &Plugin,
    runtime: &Arc<Runtime>,
    export: &ExportedFunc,
    function: &str,
) -> Result<Call, CallError> {
    let timeout = plugin.timeout_for(function);
    let started = runtime.observer().map(|_| Instant::now());
    let taken = match (&plugin.warm, &plugin.stock) {
        (Some(warm), _) => warm.take(),
        (None, Some(stock)) => stock.take(runtime.keeper()),
        (None, None) => None,
    };
    let source = match (taken.is_some(), plugin.warm.is_some()) {
        (true, true) => InstanceSource::Warm,
        (true, false) => InstanceSource::Stock,
        (false, _) => InstanceSource::Instantiated,
    };
    plugin.stats.record_instance(source);
    let mut instance = match taken {
        Some(mut taken) => {
            arm_deadline(&mut taken.store, timeout);
            taken
        }
        None => {
            let mut store =
                runtime
                    .stores()
                    .make(&plugin.name, &plugin.grants, timeout, plugin.fuel);
            match plugin.pre.instantiate_async(&mut store).await {
                Ok(instance) => {
                    if let Some(stock) = &plugin.stock {
                        stock.instantiated_inline();
                    }
                    PluginInstance { store, instance }
                }
                Err(error) => {
                    let stderr = store.data().flush_output();
                    plugin.stats.record(false, None);
                    let error = classify(error, &plugin.name, function, timeout, &stderr);
                    observe(
                        plugin,
                        runtime,
                        function,
                        started,
                        CallOutcome::of_error(&error),
                        None,
                        source,
                    );
                    return Err(error);
                }
            }
        }
    };
    let fuel_budget = runtime.stores().refuel(&mut instance.store, plugin.fuel);
    let func = instance
        .instance
        .get_func(&mut instance.store, export.index)
        .ok_or_else(|| CallError::Host {
            plugin: plugin.name.to_string(),
            function: function.to_string(),
            message: "the export is not a function of the instance".into(),
        })?;
    Ok(Call {
        instance,
        func,
        fuel_budget,
        timeout,
        started,
        source,
    })
}

/// Ends a call: releases what it left open (an uncommitted transaction is rolled back), logs
/// the plugin's output, retires an instance from the stock, puts a warm instance back after a
/// success or tears the instance down, and turns a failure into a [`CallError`].
async fn finish<T>(
    plugin: &Plugin,
    runtime: &Arc<Runtime>,
    mut call: Call,
    function: &str,
    outcome: wasmtime::Result<T>,
    returned_err: bool,
) -> Result<T, CallError> {
    call.instance.store.data_mut().end_call().await;
    let stderr = call.instance.store.data().flush_output();
    let fuel_used = call
        .fuel_budget
        .and_then(|budget| Some(budget.saturating_sub(call.instance.store.get_fuel().ok()?)));
    plugin.stats.record(outcome.is_ok(), fuel_used);
    if let Some(fuel) = fuel_used {
        tracing::debug!(plugin = %plugin.name, function, fuel, "call finished");
    }
    let (timeout, budget, started, source) =
        (call.timeout, call.fuel_budget, call.started, call.source);
    match (&plugin.warm, &plugin.stock) {
        (Some(warm), _) if outcome.is_ok() => warm.put_back(call.instance),
        (None, Some(stock)) if source == InstanceSource::Stock => {
            stock.retire(runtime.keeper(), call.instance)
        }
        _ => drop(call.instance),
    }
    let outcome = outcome.map_err(
        |error| match (error.downcast_ref::<wasmtime::Trap>(), budget) {
            (Some(wasmtime::Trap::OutOfFuel), Some(budget)) => CallError::FuelExhausted {
                plugin: plugin.name.to_string(),
                function: function.to_string(),
                budget,
            },
            _ => classify(error, &plugin.name, function, timeout, &stderr),
        },
    );
    let kind = match &outcome {
        Ok(_) if returned_err => CallOutcome::PluginError,
        Ok(_) => CallOutcome::Ok,
        Err(error) => CallOutcome::of_error(error),
    };
    observe(plugin, runtime, function, started, kind, fuel_used, source);
    outcome
}

/// Tells the runtime's observer, if there is one, how a call ended.
fn observe(
    plugin: &Plugin,
    runtime: &Runtime,
    function: &str,
    started: Option<Instant>,
    outcome: CallOutcome,
    fuel_used: Option<u64>,
    instance: InstanceSource,
) {
    tracing::Span::current().record("outcome", outcome.as_str());
    if let (Some(observer), Some(started)) = (runtime.observer(), started) {
        observer.call_finished(&FinishedCall {
            plugin: &plugin.name,
            function,
            outcome,
            duration: started.elapsed(),
            fuel_used,
            instance,
        });
    }
}

fn bad_arguments(
    plugin: &Plugin,
    export: &ExportedFunc,
    function: &str,
    reason: String,
) -> CallError {
    CallError::BadArguments {
        plugin: plugin.name.to_string(),
        function: function.to_string(),
        signature: describe_func(&export.ty),
        reason,
    }
}

/// The span of one call: what the plugin prints is logged inside it.
fn call_span(plugin: &str, function: &str) -> tracing::Span {
    tracing::info_span!(
        "plugin_call",
        plugin,
        function,
        outcome = tracing::field::Empty
    )
}
