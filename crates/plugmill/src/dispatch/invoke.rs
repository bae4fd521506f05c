//! Calling one export of one plugin: take an instance (a never-used one by default, from the
//! plugin's stock or instantiated on the spot; or a warm one from the plugin's pool), call,
//! end what the call left open (see [`crate::capabilities::CallScope`]), then retire the
//! instance for teardown in the background if it came from the stock, tear it down if the call
//! made it, or return it to the warm pool if the call succeeded.

use std::sync::Arc;

use std::time::Instant;

use tracing::Instrument as _;
use wasmtime::component::{ComponentNamedList, Func, Lift, Lower, Val};

use super::check::check_args;
use super::error::{classify, CallError};
use super::observe::{CallOutcome, FinishedCall, InstanceSource};
use crate::plugin::{ExportedFunc, Plugin};
use crate::runtime::warm::WarmInstance;
use crate::runtime::{state, Runtime};

/// An instance leased for one call.
struct Lease {
    instance: WarmInstance,
    func: Func,
    fuel_budget: Option<u64>,
    timeout: std::time::Duration,
    /// When the call started, when an observer wants to know how long it took.
    started: Option<Instant>,
    source: InstanceSource,
}

impl Plugin {
    pub(crate) fn function(&self, function: &str) -> Result<&ExportedFunc, CallError> {
        self.functions
            .get(function)
            .ok_or_else(|| CallError::NoSuchFunction {
                plugin: self.name.to_string(),
                function: function.to_string(),
            })
    }

    async fn lease(
        &self,
        runtime: &Arc<Runtime>,
        export: &ExportedFunc,
        function: &str,
    ) -> Result<Lease, CallError> {
        let timeout = self.timeout_for(function);
        let started = runtime.observer().map(|_| Instant::now());
        let ready = match (&self.warm, &self.stock) {
            (Some(pool), _) => pool.take(),
            (None, Some(stock)) => stock.take(runtime),
            (None, None) => None,
        };
        let source = match (ready.is_some(), self.warm.is_some()) {
            (true, true) => InstanceSource::Warm,
            (true, false) => InstanceSource::Stock,
            (false, _) => InstanceSource::Instantiated,
        };
        self.stats.record_instance(source);
        let mut instance = match ready {
            Some(mut ready) => {
                state::arm_deadline(&mut ready.store, timeout);
                ready
            }
            None => {
                let mut store =
                    runtime.new_store_with(&self.name, &self.grants, timeout, self.fuel);
                match self.pre.instantiate_async(&mut store).await {
                    Ok(instance) => {
                        if let Some(stock) = &self.stock {
                            stock.instantiated_inline();
                        }
                        WarmInstance { store, instance }
                    }
                    Err(error) => {
                        let stderr = store.data().flush_output();
                        self.stats.record(false, None);
                        let error = classify(error, &self.name, function, timeout, &stderr);
                        self.observe(
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
        let fuel_budget = runtime.refuel(&mut instance.store, self.fuel);
        let func = instance
            .instance
            .get_func(&mut instance.store, export.index)
            .ok_or_else(|| CallError::Host {
                plugin: self.name.to_string(),
                function: function.to_string(),
                message: "the export is not a function of the instance".into(),
            })?;
        Ok(Lease {
            instance,
            func,
            fuel_budget,
            timeout,
            started,
            source,
        })
    }

    /// Tells the runtime's observer, if there is one, how a call ended.
    fn observe(
        &self,
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
                plugin: &self.name,
                function,
                outcome,
                duration: started.elapsed(),
                fuel_used,
                instance,
            });
        }
    }

    /// Ends a call: releases what it left open (an uncommitted transaction is rolled back),
    /// logs the plugin's output, returns a healthy warm instance to the pool, retires one from
    /// the stock for teardown in the background or tears down one the call made, and turns a
    /// failure into a [`CallError`].
    async fn finish<T>(
        &self,
        runtime: &Arc<Runtime>,
        mut lease: Lease,
        function: &str,
        outcome: wasmtime::Result<T>,
        returned_err: bool,
    ) -> Result<T, CallError> {
        lease.instance.store.data_mut().end_call().await;
        let stderr = lease.instance.store.data().flush_output();
        let fuel_used = lease
            .fuel_budget
            .and_then(|budget| Some(budget.saturating_sub(lease.instance.store.get_fuel().ok()?)));
        self.stats.record(outcome.is_ok(), fuel_used);
        if let Some(fuel) = fuel_used {
            tracing::debug!(plugin = %self.name, function, fuel, "call finished");
        }
        let (timeout, budget, started, source) = (
            lease.timeout,
            lease.fuel_budget,
            lease.started,
            lease.source,
        );
        match (&self.warm, &self.stock) {
            (Some(pool), _) if outcome.is_ok() => pool.put(lease.instance),
            (None, Some(stock)) if source == InstanceSource::Stock => {
                stock.retire(runtime, lease.instance)
            }
            _ => drop(lease.instance),
        }
        let outcome =
            outcome.map_err(
                |error| match (error.downcast_ref::<wasmtime::Trap>(), budget) {
                    (Some(wasmtime::Trap::OutOfFuel), Some(budget)) => CallError::FuelExhausted {
                        plugin: self.name.to_string(),
                        function: function.to_string(),
                        budget,
                    },
                    _ => classify(error, &self.name, function, timeout, &stderr),
                },
            );
        let kind = match &outcome {
            Ok(_) if returned_err => CallOutcome::PluginError,
            Ok(_) => CallOutcome::Ok,
            Err(error) => CallOutcome::of_error(error),
        };
        self.observe(runtime, function, started, kind, fuel_used, source);
        outcome
    }

    /// Calls `function` with dynamically typed arguments, checked against its signature first.
    pub(crate) async fn call_dynamic(
        &self,
        runtime: &Arc<Runtime>,
        function: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, CallError> {
        let export = self.function(function)?;
        check_args(&export.ty, args)
            .map_err(|reason| self.bad_arguments(export, function, reason))?;
        async {
            let mut lease = self.lease(runtime, export, function).await?;
            let mut results = vec![Val::Bool(false); export.ty.results().len()];
            let outcome = lease
                .func
                .call_async(&mut lease.instance.store, args, &mut results)
                .await;
            let returned_err = matches!(results.as_slice(), [Val::Result(Err(_))]);
            self.finish(runtime, lease, function, outcome, returned_err)
                .await
                .map(|()| results)
        }
        .instrument(call_span(&self.name, function))
        .await
    }

    /// Calls `function` through a typed function: no dynamic values on the way in or out.
    pub(crate) async fn call_typed<P, R>(
        &self,
        runtime: &Arc<Runtime>,
        function: &str,
        args: P,
    ) -> Result<R, CallError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let export = self.function(function)?;
        async {
            let mut lease = self.lease(runtime, export, function).await?;
            let typed = match lease.func.typed::<P, R>(&lease.instance.store) {
                Ok(typed) => typed,
                Err(error) => {
                    return Err(self.bad_arguments(export, function, format!("{error:#}")))
                }
            };
            let outcome = typed.call_async(&mut lease.instance.store, args).await;
            self.finish(runtime, lease, function, outcome, false).await
        }
        .instrument(call_span(&self.name, function))
        .await
    }

    fn bad_arguments(&self, export: &ExportedFunc, function: &str, reason: String) -> CallError {
        CallError::BadArguments {
            plugin: self.name.to_string(),
            function: function.to_string(),
            signature: crate::loader::signature::describe_func(&export.ty),
            reason,
        }
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
