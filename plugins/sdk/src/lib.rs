//! `berth-plugin`: write berth plugins in Rust.
//!
//! A plugin is a WebAssembly component that exports the `tools` interface of
//! the `berth:plugin` WIT package (see `wit/` in the berth repository) and
//! imports the host's `context`. This crate generates those bindings and adds
//! what makes a plugin short to write: tool descriptors whose input schema is
//! derived from a Rust type, typed key-value state, and log helpers.
//!
//! ```ignore
//! use berth_plugin::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Args {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! fn greet(args: Args) -> ToolResult {
//!     Ok(text(format!("Hello, {}!", args.name)))
//! }
//!
//! berth_plugin::tools![tool("greet", "Greets someone by name", greet)];
//! ```
//!
//! This crate owns the guest side of the contract only; it must not depend
//! on anything of the host.

#![allow(missing_docs)] // generated bindings carry the WIT documentation

/// Bindings generated from the WIT contract.
pub mod bindings {
    #[cfg(not(feature = "full"))]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "tools-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "berth_plugin::bindings",
        generate_all,
    });
    #[cfg(feature = "full")]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "berth_plugin::bindings",
        generate_all,
    });
}

pub mod kv;
pub mod log;
mod tool;

pub use bindings::berth::plugin::context::{
    Identity, Scope, cancelled, principal, resource_updated,
};
pub use bindings::berth::plugin::types::{
    Annotations, BinaryContent, Content, EmbeddedResource, Error, ResourceContents, ResourceLink,
    TextContent,
};
pub use bindings::exports::berth::plugin::tools::CallResult;
pub use tool::{Tool, ToolResult, describe, dispatch, error_text, structured, text, tool};

/// Reports progress to the client (a no-op unless it asked for progress).
pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
    bindings::berth::plugin::context::progress(progress, total, message);
}

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::kv::{self, KvError};
    pub use crate::log;
    pub use crate::{
        CallResult, Content, Error, Scope, Tool, ToolResult, cancelled, error_text, principal,
        progress, structured, text, tool,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde_json;
}

/// Exports the listed tools as this component's `tools` interface.
///
/// Each argument is an expression of type [`Tool`], usually built with
/// [`tool`]. The list is evaluated on every call (each call runs in a fresh
/// instance), so keep it to constructors.
#[macro_export]
macro_rules! tools {
    ($($tool:expr),* $(,)?) => {
        struct __BerthTools;

        impl $crate::bindings::exports::berth::plugin::tools::Guest for __BerthTools {
            fn list_tools() -> ::std::vec::Vec<$crate::bindings::exports::berth::plugin::tools::Tool> {
                $crate::describe(&[$($tool),*])
            }

            fn call_tool(
                name: ::std::string::String,
                arguments: ::std::string::String,
            ) -> ::std::result::Result<$crate::CallResult, $crate::Error> {
                $crate::dispatch(::std::vec![$($tool),*], &name, &arguments)
            }
        }

        $crate::bindings::export_plugin!(__BerthTools with_types_in $crate::bindings);
    };
}
