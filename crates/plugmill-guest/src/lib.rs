//! Write plugmill plugins in Rust.
//!
//! A plugmill plugin is a WebAssembly component that exports
//! `plugins-manager:common/plugin-common`, whose `get-manifest` names the plugin's hooks,
//! routes and tasks, each of them a top-level function export of the plugin's world. Written
//! by hand, the manifest and the exports drift apart: a renamed function still listed, a route
//! outside the plugin's prefix, a handler with the wrong signature. [`plugin!`] derives the
//! manifest from one declaration and checks it when the plugin compiles:
//!
//! - every hook, route handler and task names a function of the world's `Guest` trait
//!   (a typo or a removed export is a compile error);
//! - route handlers and tasks have the signature plugmill calls them with,
//!   `func(data: string) -> result<string, string>`;
//! - the plugin name is one plugmill accepts and every route path starts with `/{name}/`.
//!
//! ```ignore
//! wit_bindgen::generate!({ world: "hello", path: "wit", generate_all });
//!
//! struct Hello;
//!
//! plugmill_guest::plugin! {
//!     component: Hello,
//!     name: "hello",
//!     hooks: [greet],
//!     routes: ["/hello/echo" => echo, "/hello/report" => report as task],
//!     tasks: [nightly_cleanup],
//! }
//!
//! impl Guest for Hello { /* greet, echo, report, nightly_cleanup */ }
//!
//! export!(Hello);
//! ```
//!
//! The macro expects `wit_bindgen::generate!` at the crate root (its usual place), with the
//! plugin's world exporting `plugins-manager:common/plugin-common`. Rust function names map to
//! WIT names by `_` -> `-` (`nightly_cleanup` is the export `nightly-cleanup`), as wit-bindgen
//! maps them.
//!
//! `plugmill new NAME` writes a project that uses this crate, with the WIT it needs.

#![no_std]

extern crate alloc;

#[doc(hidden)]
pub mod __private {
    pub use alloc::string::String;
    pub use alloc::vec::Vec;

    /// The WIT name of a Rust function name.
    pub fn wit_name(rust: &str) -> String {
        rust.replace('_', "-")
    }
}

/// Names the server keeps for its own endpoints.
pub const RESERVED_NAMES: [&str; 7] = [
    "plugin", "healthz", "readyz", "metrics", "tasks", "admin", "console",
];

/// Whether `name` is a plugin name plugmill accepts: 1 to 64 characters of lowercase ASCII
/// letters, digits, `-` and `_`, starting with a letter, and not one of [`RESERVED_NAMES`].
pub const fn is_plugin_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if !(byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_') {
            return false;
        }
        i += 1;
    }
    let mut r = 0;
    while r < RESERVED_NAMES.len() {
        if eq(bytes, RESERVED_NAMES[r].as_bytes()) {
            return false;
        }
        r += 1;
    }
    true
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `path` is a route of plugin `name`: `/{name}/` and at least one more character.
pub const fn is_route_of(path: &str, name: &str) -> bool {
    let path = path.as_bytes();
    let name = name.as_bytes();
    if path.len() < name.len() + 3 || path[0] != b'/' || path[name.len() + 1] != b'/' {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        if path[i + 1] != name[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a plugin's manifest and implements `get-manifest` from it; see the
/// [crate documentation](crate).
///
/// `routes` entries are `"PATH" => handler`, or `"PATH" => handler as task` for a route
/// processed as a task. Every list may be empty or left out.
#[macro_export]
macro_rules! plugin {
    (
        component: $component:ty,
        name: $name:literal
        $(, hooks: [$($hook:ident),* $(,)?])?
        $(, routes: [$($path:literal => $handler:ident $(as $kind:ident)?),* $(,)?])?
        $(, tasks: [$($task_fn:ident),* $(,)?])?
        $(,)?
    ) => {
        const _: () = {
            assert!(
                $crate::is_plugin_name($name),
                concat!("`", $name, "` is not a plugin name: 1 to 64 lowercase letters, digits, `-` and `_`, starting with a letter, and not a name the server reserves")
            );
            $($(
                assert!(
                    $crate::is_route_of($path, $name),
                    concat!("route `", $path, "` must start with `/", $name, "/`")
                );
            )*)?
        };

        // Each declared function exists on the world's exports, with the signature plugmill
        // calls it with.
        #[allow(dead_code)]
        fn __plugmill_exports_match_the_manifest() {
            $($( let _ = <$component as Guest>::$hook; )*)?
            $($(
                let _: fn($crate::__private::String) -> ::core::result::Result<$crate::__private::String, $crate::__private::String> =
                    <$component as Guest>::$handler;
            )*)?
            $($(
                let _: fn($crate::__private::String) -> ::core::result::Result<$crate::__private::String, $crate::__private::String> =
                    <$component as Guest>::$task_fn;
            )*)?
        }

        impl exports::plugins_manager::common::plugin_common::Guest for $component {
            fn get_manifest() -> plugins_manager::common::types::Manifest {
                #[allow(unused_mut)]
                let mut hooks = $crate::__private::Vec::new();
                $($( hooks.push($crate::__private::wit_name(stringify!($hook))); )*)?
                #[allow(unused_mut)]
                let mut routes = $crate::__private::Vec::new();
                $($(
                    routes.push(plugins_manager::common::types::PluginRoute {
                        path: $crate::__private::String::from($path),
                        handler: $crate::__private::wit_name(stringify!($handler)),
                        process_as_task: $crate::plugin!(@is_task $($kind)?),
                    });
                )*)?
                #[allow(unused_mut)]
                let mut tasks = $crate::__private::Vec::new();
                $($( tasks.push($crate::__private::wit_name(stringify!($task_fn))); )*)?
                plugins_manager::common::types::Manifest {
                    plugin_name: $crate::__private::String::from($name),
                    hooks,
                    routes,
                    tasks,
                }
            }
        }
    };
    (@is_task task) => { true };
    (@is_task) => { false };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_follow_plugmill_s_rule() {
        for good in ["a", "hello", "js-hello", "p2", "a-b-c", "a_b"] {
            assert!(is_plugin_name(good), "{good}");
        }
        for bad in ["", "Hello", "1up", "-a", "a/b", "é", "metrics", "plugin"] {
            assert!(!is_plugin_name(bad), "{bad}");
        }
    }

    #[test]
    fn routes_must_be_under_the_plugin_s_prefix() {
        assert!(is_route_of("/hello/echo", "hello"));
        assert!(is_route_of("/hello/a/b", "hello"));
        assert!(!is_route_of("/hello/", "hello"));
        assert!(!is_route_of("/hello", "hello"));
        assert!(!is_route_of("/hellos/echo", "hello"));
        assert!(!is_route_of("/other/echo", "hello"));
        assert!(!is_route_of("hello/echo/", "hello"));
    }
}
