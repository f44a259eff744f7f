//! Errors of the plugin runtime: loading, and calling.
//!
//! [`CallError`] keeps the plugin's own errors (user-facing by contract)
//! apart from host-side failures (traps, limits), whose detail is for the
//! operator's log only.

use std::path::PathBuf;
use std::time::Duration;

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime rejected the engine configuration.
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
    /// The host functions could not be linked.
    #[error("cannot link host functions: {0}")]
    Link(String),
}

/// Why a plugin was not loaded. Other plugins load regardless.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The manifest is invalid.
    #[error("{path}: invalid manifest: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong (names the key).
        reason: String,
    },
    /// The file is not WebAssembly at all.
    #[error(
        "{path}: not a WebAssembly file ({size} bytes without the \\0asm header); a berth plugin is a WebAssembly component, e.g. `cargo build --release --target wasm32-wasip2`"
    )]
    NotWasm {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: usize,
    },
    /// The file is a core WebAssembly module, not a component.
    #[error(
        "{path}: a core WebAssembly module, not a component; build for the `wasm32-wasip2` target (`rustup target add wasm32-wasip2`, then `cargo build --release --target wasm32-wasip2`), or wrap a module with `wasm-tools component new`"
    )]
    CoreModule {
        /// The file.
        path: PathBuf,
    },
    /// Not a valid WebAssembly component.
    #[error("{path}: not a valid WebAssembly component: {reason}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// The compiler's message.
        reason: String,
    },
    /// The component imports something the host does not provide.
    #[error("{path}: needs imports berth does not provide: {reason}")]
    Imports {
        /// The file.
        path: PathBuf,
        /// The linker's message (names the import).
        reason: String,
    },
    /// The component exports none of the berth interfaces.
    #[error(
        "{path}: not a berth plugin: it exports none of berth:plugin/tools, resources, prompts, completion @0.2.0 (it exports: {found})"
    )]
    NotAPlugin {
        /// The file.
        path: PathBuf,
        /// What it does export.
        found: String,
    },
    /// The component was built against another version of the contract.
    #[error(
        "{path}: built against {found}; this berth serves berth:plugin@0.2.0: rebuild it with berth-plugin 0.2 (or a wit/ of that version)"
    )]
    WrongVersion {
        /// The file.
        path: PathBuf,
        /// The berth interfaces it exports.
        found: String,
    },
    /// Listing the plugin's tools, resources or prompts failed (trap or
    /// limit).
    #[error("{path}: describing it failed: {reason}")]
    Describe {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A tool, resource, template or prompt descriptor is invalid.
    #[error("{path}: {tool:?} is invalid: {reason}")]
    InvalidTool {
        /// The file.
        path: PathBuf,
        /// The tool's name as the plugin gave it.
        tool: String,
        /// What is wrong.
        reason: String,
    },
    /// Two plugins expose the same name.
    #[error(
        "{path}: {name:?} is already served by plugin {existing:?}; set a different `prefix` in one manifest (resource URIs must differ)"
    )]
    Collision {
        /// The plugin that was not loaded.
        path: PathBuf,
        /// The exposed name.
        name: String,
        /// The plugin that has it.
        existing: String,
    },
    /// Two plugin files have the same name in different directories.
    #[error("{path}: a plugin named {name:?} is already loaded from another directory")]
    DuplicateName {
        /// The file not loaded.
        path: PathBuf,
        /// The plugin name.
        name: String,
    },
}

/// How a tool call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The plugin rejected the arguments (its message is user-facing).
    #[error("invalid arguments: {0}")]
    InvalidParams(String),
    /// The plugin says the thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The plugin refused.
    #[error("denied: {0}")]
    Denied(String),
    /// The plugin reports a failure (its message is user-facing).
    #[error("{0}")]
    Failed(String),
    /// The call ran past its deadline and was stopped.
    #[error("the call exceeded its {} ms time limit", .limit.as_millis())]
    Deadline {
        /// The deadline.
        limit: Duration,
    },
    /// The call tried to use more memory than allowed and was stopped.
    #[error("the call exceeded its {} MiB memory limit", .limit_bytes >> 20)]
    Memory {
        /// The limit.
        limit_bytes: usize,
    },
    /// The call used up its CPU budget and was stopped.
    #[error("the call used up its CPU budget of {limit} fuel units (limits.cpu_fuel)")]
    Fuel {
        /// The budget.
        limit: u64,
    },
    /// The plugin trapped (panic, invalid operation) or returned something
    /// malformed. The detail is for the host log only.
    #[error("internal error")]
    Trap {
        /// The trap message and backtrace.
        detail: String,
    },
    /// The client cancelled the call.
    #[error("cancelled")]
    Cancelled,
    /// The caller already has as many calls running and waiting as it may
    /// (`limits.max_calls_per_user`); nothing ran.
    #[error(
        "you have {limit} calls running or waiting, the most allowed (limits.max_calls_per_user); retry when some have finished"
    )]
    Busy {
        /// The limit.
        limit: usize,
    },
    /// The result is larger than the host accepts (`limits.max_result_kb`).
    #[error(
        "its result of {} KiB is over the {} KiB limit (limits.max_result_kb)",
        .size.div_ceil(1024),
        .limit >> 10
    )]
    ResultTooLarge {
        /// The result's size, bytes.
        size: usize,
        /// The limit, bytes.
        limit: usize,
    },
}
