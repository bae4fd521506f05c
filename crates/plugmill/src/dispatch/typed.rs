//! Typed hooks: an application declares its hooks once and calls them as methods,
//! `manager.my_hook(42, "x".into()).await`, with no dynamic values and no placeholder results.
//!
//! ```no_run
//! plugmill::typed_hooks! {
//!     /// The hooks this application calls.
//!     pub trait AppHooks {
//!         /// Calls hook `my-hook` (the method name in kebab-case).
//!         fn my_hook(arg1: i32, arg2: String) -> String;
//!         /// A hook without result.
//!         fn on_start();
//!     }
//! }
//!
//! # async fn run(manager: plugmill::PluginManager) {
//! use AppHooks as _;
//! for outcome in manager.my_hook(42, "example input".into()).await {
//!     match outcome.result {
//!         Ok(text) => println!("{}: {text}", outcome.plugin),
//!         Err(error) => eprintln!("{error}"),
//!     }
//! }
//! # }
//! ```

/// Unwraps the result tuple of a typed call: `(T,)` becomes `T`, `()` stays `()`.
pub trait HookReturn {
    /// The unwrapped value.
    type Output;
    /// Unwraps it.
    fn into_output(self) -> Self::Output;
}

impl HookReturn for () {
    type Output = ();
    fn into_output(self) {}
}

impl<T> HookReturn for (T,) {
    type Output = T;
    fn into_output(self) -> T {
        self.0
    }
}

/// Converts a Rust method name to the hook name it calls: `my_hook` -> `my-hook`.
pub fn hook_name(method: &str) -> String {
    method.replace('_', "-")
}

/// Declares an application's typed hooks as a trait implemented for
/// [`PluginManager`](crate::PluginManager). Each method calls the hook named after it in
/// kebab-case on every registered plugin, through wasmtime's typed calls, and returns one
/// [`PluginOutcome`](crate::PluginOutcome) per plugin.
#[macro_export]
macro_rules! typed_hooks {
    (
        $(#[$meta:meta])*
        $vis:vis trait $name:ident {
            $(
                $(#[$fmeta:meta])*
                fn $method:ident ( $($arg:ident : $argty:ty),* $(,)? ) $(-> $ret:ty)? ;
            )*
        }
    ) => {
        $(#[$meta])*
        $vis trait $name {
            $(
                $(#[$fmeta])*
                fn $method(&self, $($arg: $argty),*)
                    -> impl ::std::future::Future<Output = $crate::HookResults<<($($ret,)?) as $crate::HookReturn>::Output>> + Send;
            )*
        }

        impl $name for $crate::PluginManager {
            $(
                fn $method(&self, $($arg: $argty),*)
                    -> impl ::std::future::Future<Output = $crate::HookResults<<($($ret,)?) as $crate::HookReturn>::Output>> + Send
                {
                    static HOOK: ::std::sync::LazyLock<String> =
                        ::std::sync::LazyLock::new(|| $crate::__private::hook_name(stringify!($method)));
                    async move {
                        self.call_hook_typed::<($($argty,)*), ($($ret,)?)>(&HOOK, ($($arg,)*))
                            .await
                            .into_iter()
                            .map(|outcome| outcome.map($crate::HookReturn::into_output))
                            .collect()
                    }
                }
            )*
        }
    };
}
