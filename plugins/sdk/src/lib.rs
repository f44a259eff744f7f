//! `berth-plugin`: write berth plugins in Rust.
//!
//! A plugin is a WebAssembly component that exports the `tools` interface
//! (and, with the `full` feature, `resources`, `prompts` and `completion`)
//! of the `berth:plugin` WIT package (see `wit/` in the berth repository) and
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
//! With the `http` feature, `berth_plugin::http` is a small client for outgoing HTTP
//! (`wasi:http`), to the hosts the plugin's manifest grants.
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

#[cfg(feature = "http")]
pub mod http;
pub mod input;
pub mod kv;
pub mod log;
#[cfg(feature = "full")]
mod plugin;
#[cfg(feature = "full")]
pub mod prompt;
#[cfg(feature = "full")]
pub mod resource;
mod tool;
pub mod uri_template;

pub use bindings::berth::plugin::context::{
    Identity, Scope, cancelled, principal, resource_updated,
};
pub use bindings::berth::plugin::types::{
    Annotations, BinaryContent, Content, EmbeddedResource, Error, ResourceContents, ResourceLink,
    TextContent,
};
pub use bindings::exports::berth::plugin::tools::CallResult;
pub use input::{Ask, Elicited, Input, Outcome};
#[cfg(feature = "full")]
pub use plugin::{MAX_COMPLETIONS, Plugin, completions};
pub use tool::{
    Tool, ToolAsk, ToolResult, describe, dispatch, error_text, structured, text, tool,
    tool_with_input,
};

/// Reports progress to the client (a no-op unless it asked for progress).
pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
    bindings::berth::plugin::context::progress(progress, total, message);
}

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::kv::{self, KvError};
    pub use crate::log;
    pub use crate::{
        Ask, CallResult, Content, Elicited, Error, Input, Outcome, Scope, Tool, ToolAsk,
        ToolResult, cancelled, error_text, principal, progress, structured, text, tool,
        tool_with_input,
    };
    #[cfg(feature = "full")]
    pub use crate::{
        Plugin, completions,
        prompt::{Args, Prompt, prompt, prompt_with_input},
        resource::{Resource, Template, Vars, blob_contents, resource, template, text_contents},
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
#[cfg(feature = "full")]
#[macro_export]
macro_rules! tools {
    ($($tool:expr),* $(,)?) => {
        struct __BerthToolsOnly;

        impl $crate::Plugin for __BerthToolsOnly {
            fn tools() -> ::std::vec::Vec<$crate::Tool> {
                ::std::vec![$($tool),*]
            }
        }

        $crate::export!(__BerthToolsOnly);
    };
}

/// Exports the listed tools as this component's `tools` interface.
///
/// Each argument is an expression of type [`Tool`], usually built with
/// [`tool`]. The list is evaluated on every call (each call runs in a fresh
/// instance), so keep it to constructors.
#[cfg(not(feature = "full"))]
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
                input: ::std::option::Option<$crate::bindings::berth::plugin::types::InputAnswers>,
            ) -> ::std::result::Result<$crate::bindings::exports::berth::plugin::tools::ToolOutcome, $crate::Error> {
                $crate::dispatch(::std::vec![$($tool),*], &name, &arguments, input)
            }
        }

        $crate::bindings::export_plugin!(__BerthTools with_types_in $crate::bindings);
    };
}
