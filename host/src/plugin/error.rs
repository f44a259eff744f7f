//! Errors of the plugin runtime: starting it, loading plugins (and what
//! is wrong with what a plugin describes or answers), and calling.
//!
//! [`CallError`] keeps the plugin's own errors (user-facing by contract)
//! apart from host-side failures (traps, limits), whose detail is for the
//! operator's log only.
//!
//! Each error keeps its cause as its `source()`. Its message also shows
//! the cause (wasmtime's with its whole chain, `{:#}`), as it did when the
//! cause was text: whoever prints only the message loses nothing, and
//! whoever prints the chain leaves out what the message already says
//! (`crate::logging::report`).

use super::WIT_VERSION;
use super::manifest::ManifestError;
use super::mirror::MirrorError;
use std::path::PathBuf;
use std::time::Duration;

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime rejected the engine configuration.
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(#[source] wasmtime::Error),
    /// The host functions could not be linked.
    #[error("cannot link host functions: {0}")]
    Link(#[source] wasmtime::Error),
}

/// Why a component could not be compiled (or its cached code mapped).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The file could not be read.
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// wasmtime refused it.
    #[error("{0:#}")]
    Wasmtime(#[source] wasmtime::Error),
    /// The compiling thread panicked or was cancelled.
    #[error("{0}")]
    Thread(#[source] tokio::task::JoinError),
}

/// What is wrong with a tool, resource, template or prompt a plugin
/// describes (it is not served).
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// Not a valid MCP tool name.
    #[error("names must be 1-128 characters of A-Z a-z 0-9 _ - .")]
    ToolName,
    /// No description for the model.
    #[error("description is empty")]
    EmptyDescription,
    /// A schema that is not JSON.
    #[error("{what} is not JSON: {source}")]
    SchemaNotJson {
        /// "input schema" or "output schema".
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A schema that is JSON but not an object.
    #[error("{what} must be a JSON object")]
    SchemaNotObject {
        /// "input schema" or "output schema".
        what: &'static str,
    },
    /// An input schema that is not of type object.
    #[error("input schema must have \"type\": \"object\"")]
    InputNotObject,
    /// A stateful tool with its own `session` argument.
    #[error("a stateful tool must not declare a `session` argument: the host adds it")]
    SessionArgument,
    /// `x-mcp-header` annotations that break a rule.
    #[error("input schema: {0}")]
    Mirror(#[source] MirrorError),
    /// A schema the validator cannot use.
    #[error("{what} is not a usable JSON Schema: {source}")]
    UnusableSchema {
        /// "input schema" or "output schema".
        what: &'static str,
        /// The validator's error.
        #[source]
        source: Box<jsonschema::ValidationError<'static>>,
    },
    /// The name a tool is exposed under (with its prefix) is not a valid
    /// MCP tool name.
    #[error("exposed name {0:?} is not a valid tool name")]
    ExposedName(String),
    /// A name or URI listed twice.
    #[error("listed twice")]
    ListedTwice,
    /// A resource URI without a scheme.
    #[error("a resource URI needs a scheme")]
    NoScheme,
    /// An empty or repeated prompt name.
    #[error("prompt names must be non-empty and unique")]
    PromptName,
    /// A resource template with unbalanced braces.
    #[error("unbalanced braces in {0:?}")]
    TemplateBraces(String),
    /// A resource template without variables.
    #[error("{0:?} is not a URI template with variables")]
    NotATemplate(String),
}

/// What is wrong with what a plugin answered a call with (a plugin
/// fault: the caller sees an internal error, the log this).
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// Structured content that is not JSON.
    #[error("structured content is not JSON: {0}")]
    StructuredNotJson(#[source] serde_json::Error),
    /// `input-required` without questions.
    #[error("input-required with no questions")]
    NoQuestions,
    /// Too many questions in one round.
    #[error("more than {0} questions at once")]
    TooManyQuestions(usize),
    /// A question key that is empty, longer than 64 bytes or repeated.
    #[error("question key {0:?} is empty, too long or repeated")]
    QuestionKey(String),
    /// A question's parameters that are not JSON.
    #[error("{what} params are not JSON: {source}")]
    ParamsNotJson {
        /// "elicitation" or "sampling".
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A question's parameters that are not an object.
    #[error("{what} params must be an object")]
    ParamsNotObject {
        /// "elicitation" or "sampling".
        what: &'static str,
    },
    /// A question's parameters without a required key.
    #[error("{what} params need `{key}`")]
    ParamsMissing {
        /// "elicitation" or "sampling".
        what: &'static str,
        /// The key.
        key: &'static str,
    },
}

/// Why a plugin was not loaded. Other plugins load regardless.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is invalid.
    #[error("{path}: invalid manifest: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong (names the key).
        #[source]
        source: ManifestError,
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
    #[error("{path}: not a valid WebAssembly component: {source}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// The compiler's error.
        #[source]
        source: CompileError,
    },
    /// The component imports something the host does not provide.
    #[error("{path}: needs imports berth does not provide: {source:#}")]
    Imports {
        /// The file.
        path: PathBuf,
        /// The linker's error (names the import).
        #[source]
        source: wasmtime::Error,
    },
    /// The component exports none of the berth interfaces.
    #[error(
        "{path}: not a berth plugin: it exports none of berth:plugin/tools, resources, prompts, completion @{WIT_VERSION} (it exports: {found})"
    )]
    NotAPlugin {
        /// The file.
        path: PathBuf,
        /// What it does export.
        found: String,
    },
    /// The component was built against another version of the contract.
    #[error(
        "{path}: built against {found}; this berth serves berth:plugin@{WIT_VERSION}: rebuild it with berth-plugin 0.2 (or a wit/ of that version)"
    )]
    WrongVersion {
        /// The file.
        path: PathBuf,
        /// The berth interfaces it exports.
        found: String,
    },
    /// Listing the plugin's tools, resources or prompts failed (trap or
    /// limit).
    #[error("{path}: describing it failed: {source:#}")]
    Describe {
        /// The file.
        path: PathBuf,
        /// Why (a trap, a limit, or its sandbox could not be made).
        #[source]
        source: wasmtime::Error,
    },
    /// A tool, resource, template or prompt descriptor is invalid.
    #[error("{path}: {tool:?} is invalid: {source}")]
    InvalidTool {
        /// The file.
        path: PathBuf,
        /// The tool's name as the plugin gave it.
        tool: String,
        /// What is wrong.
        #[source]
        source: DescriptorError,
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
