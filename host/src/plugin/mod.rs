//! The plugin runtime: WebAssembly components served as MCP tools,
//! resources, prompts and completions.
//!
//! Owns the wasmtime engine and linker, plugin loading and the registry of
//! exposed names, the per-call sandbox (fresh `Store`, memory limit, epoch
//! deadline, deny-by-default WASI) and the host side of the `context`
//! interface. wasmtime and generated bindings never leave this module. Must
//! not import `protocol`, `session` or `transport`; it reaches the request
//! it serves only through [`CallEvents`] and [`CallScopes`].

mod admission;
mod bindings;
mod compiled;
mod convert;
mod engine;
mod error;
mod host;
mod invoke;
mod loader;
mod manifest;
mod mirror;
mod netrule;
mod outbound;
mod policy;
mod registry;
mod reload;
mod retire;
mod surface;

pub use admission::AdmissionSnapshot;
pub use error::{CallError, LoadError, RuntimeError};
pub use invoke::CompletionRef;
pub use loader::{Exports, Plugin};
pub use manifest::{DirGrant, Limits, MAX_MEMORY_MB};
pub use mirror::MirroredParam;
pub use netrule::{HostPattern, IpNet};
pub use policy::{SandboxPolicy, SecretError, SecretSource, Secrets, valid_var_name};
pub use registry::{PromptEntry, Registry, ToolEntry};
pub use reload::FileStamp;
pub use surface::{ClientFeatures, InputAnswers, InputRequest, InputRequired, Outcome};

/// The version of the `berth:plugin` WIT package this berth serves, as a
/// literal for `concat!` (the package line of every file in `wit/`).
macro_rules! wit_version {
    () => {
        "0.2.0"
    };
}
pub(crate) use wit_version;

/// The version of the `berth:plugin` WIT package this berth serves.
pub const WIT_VERSION: &str = wit_version!();

use crate::auth::Principal;
use crate::kv::{ScopeKey, SharedKv};
use crate::level::LogLevel;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runtime settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuntimeOptions {
    /// Where compiled code is cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Limits for plugins whose manifest sets none.
    pub default_limits: Limits,
    /// Most calls running at once; more wait, admitted round-robin across
    /// tenants and, within a tenant, across callers.
    pub max_concurrent_calls: u32,
    /// Most calls one caller (tenant and subject) may have running and
    /// waiting; more are refused with a tool error.
    pub max_calls_per_user: usize,
    /// How long a cancelled call may take to return on its own.
    pub cancel_grace: Duration,
    /// Largest result one call may return, bytes; a larger one is refused
    /// with a tool error.
    pub max_result_bytes: usize,
    /// How much one call may log.
    pub log_budget: LogBudget,
    /// The operator's cap on what manifests may grant (`[sandbox]`).
    pub sandbox: SandboxPolicy,
    /// Where secret values come from (`[secrets]`).
    pub secrets: Secrets,
    /// Largest HTTP response body a plugin may receive, bytes; the body
    /// stream ends with an error once over.
    pub max_http_response_bytes: usize,
}

/// How much one call may log (to the client and the host log together);
/// the rest is dropped, and that is said once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBudget {
    /// Most messages.
    pub messages: u32,
    /// Most bytes of messages and data.
    pub bytes: usize,
}

impl Default for LogBudget {
    fn default() -> Self {
        Self {
            messages: 1000,
            bytes: 1 << 20,
        }
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            cache_dir: None,
            default_limits: Limits::default(),
            max_concurrent_calls: 64,
            max_calls_per_user: 256,
            cancel_grace: Duration::from_millis(250),
            max_result_bytes: 8 << 20,
            log_budget: LogBudget::default(),
            sandbox: SandboxPolicy::default(),
            secrets: Secrets::default(),
            max_http_response_bytes: 8 << 20,
        }
    }
}

impl RuntimeOptions {
    /// The largest memory any plugin may be granted.
    pub fn max_memory_bytes(&self) -> usize {
        (MAX_MEMORY_MB as usize) << 20
    }
}

/// What a call reports back to its request while it runs. Implemented by
/// the protocol layer, which gates and routes each event.
pub trait CallEvents: Send + Sync {
    /// The plugin logged a message.
    fn log(&self, plugin: &str, level: LogLevel, message: &str, data: Option<Value>);
    /// The plugin reported progress (already strictly increasing).
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>);
}

/// Something that changed in what the plugins serve, for subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The lists of tools, resources or prompts changed (a plugin was
    /// added, replaced or removed).
    ListsChanged(Lists),
    /// A plugin said the resource at this URI changed.
    ResourceUpdated(Arc<str>),
}

/// Which lists changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lists {
    /// `tools/list`
    pub tools: bool,
    /// `resources/list` and `resources/templates/list`
    pub resources: bool,
    /// `prompts/list`
    pub prompts: bool,
}

impl Lists {
    /// Every list a plugin with `exports` serves.
    pub fn add(&mut self, exports: Exports) {
        self.tools |= exports.tools;
        self.resources |= exports.resources;
        self.prompts |= exports.prompts;
    }

    /// Every list.
    pub fn all() -> Self {
        Self {
            tools: true,
            resources: true,
            prompts: true,
        }
    }
}

/// Changes buffered per subscriber before a slow one starts missing them.
const CHANGE_QUEUE: usize = 256;

/// The kv scopes a call may use, resolved by the protocol layer.
#[derive(Debug, Clone)]
pub struct CallScopes {
    /// The session scope, if the request has one.
    pub session: Option<ScopeKey>,
    /// The caller's user scope.
    pub user: ScopeKey,
}

/// Everything a call needs to know about its request.
pub struct CallContext {
    /// The caller.
    pub principal: Principal,
    /// Its kv scopes.
    pub scopes: CallScopes,
    /// Where logs and progress go.
    pub events: Arc<dyn CallEvents>,
    /// Cancelled when the client cancels the request.
    pub cancel: CancellationToken,
    /// What the client can be asked.
    pub client: ClientFeatures,
}

pub(crate) struct Runtime {
    engine: wasmtime::Engine,
    linker: wasmtime::component::Linker<host::StoreData>,
    kv: SharedKv,
    changes: tokio::sync::broadcast::Sender<Change>,
    options: RuntimeOptions,
    admission: Arc<admission::Admission>,
    retired: Arc<retire::Retired>,
    /// The registry, shared with every call (to check what a plugin may
    /// announce).
    registry: SharedRegistry,
    _ticker: engine::EpochTicker,
}

/// The current registry, replaced whole on every change.
pub(crate) type SharedRegistry = Arc<RwLock<Arc<Registry>>>;

/// The plugins of this process and the means to call them.
pub struct PluginHost {
    runtime: Runtime,
    /// Files whose current version failed to load, not retried until they
    /// change.
    failures: std::sync::Mutex<std::collections::HashMap<PathBuf, FileStamp>>,
}

impl PluginHost {
    /// Starts the runtime with no plugins.
    ///
    /// # Errors
    /// [`RuntimeError`] when the engine cannot be created.
    pub fn new(options: RuntimeOptions, kv: SharedKv) -> Result<Self, RuntimeError> {
        let engine = engine::engine(&options)?;
        let linker = engine::linker(&engine)?;
        let admission = Arc::new(admission::Admission::new(
            options.max_concurrent_calls as usize,
            options.max_calls_per_user,
        ));
        let retired = Arc::new(retire::Retired::new(
            admission.clone(),
            options.max_concurrent_calls,
        ));
        Ok(Self {
            runtime: Runtime {
                _ticker: engine::EpochTicker::start(engine.clone(), retired.clone()),
                retired,
                engine,
                linker,
                kv,
                changes: tokio::sync::broadcast::channel(CHANGE_QUEUE).0,
                options,
                admission,
                registry: SharedRegistry::default(),
            },
            failures: std::sync::Mutex::default(),
        })
    }

    /// Loads one plugin file without registering it (for `inspect`).
    ///
    /// # Errors
    /// Why it cannot be loaded.
    pub async fn load_file(&self, path: &Path) -> Result<Arc<Plugin>, LoadError> {
        loader::load(&self.runtime, path).await.map(Arc::new)
    }

    /// Loads every plugin in `dirs` and registers those that load. A plugin
    /// that fails is skipped; its error is returned for the caller to
    /// report. Returns the errors.
    ///
    /// # Errors
    /// A directory that cannot be listed fails the whole load.
    pub async fn load_dirs(&self, dirs: &[PathBuf]) -> Result<Vec<LoadError>, LoadError> {
        Ok(self.reload(dirs).await?.errors)
    }

    /// Plugin calls running and waiting for a place.
    pub fn admission(&self) -> AdmissionSnapshot {
        self.runtime.admission.snapshot()
    }

    /// Resolves when calls are waiting for a place to run (at once if some
    /// are): what holds a place without need should give it up.
    pub async fn contended(&self) {
        self.runtime.admission.contended().await
    }

    /// Subscribes to changes (tool list, resource updates). A subscriber
    /// that falls behind misses changes (it sees `Lagged`), never blocks.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.runtime.changes.subscribe()
    }

    /// Tells subscribers about a change.
    pub fn announce(&self, change: Change) {
        let _ = self.runtime.changes.send(change);
    }

    /// Registers an already loaded plugin.
    ///
    /// # Errors
    /// A name collision.
    pub fn register(&self, plugin: Arc<Plugin>) -> Result<(), LoadError> {
        let mut guard = self
            .runtime
            .registry
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let mut registry = Registry::clone(&guard);
        let exports = plugin.exports;
        registry.add(plugin)?;
        *guard = Arc::new(registry);
        drop(guard);
        let mut lists = Lists::default();
        lists.add(exports);
        self.announce(Change::ListsChanged(lists));
        Ok(())
    }

    /// The current registry (a snapshot; cheap to clone).
    pub fn registry(&self) -> Arc<Registry> {
        self.runtime
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `f` on the current registry without taking a snapshot: the
    /// per-call lookups, which would otherwise bump the shared snapshot's
    /// count twice. The read lock is held while `f` runs, so keep it short.
    pub fn with_registry<R>(&self, f: impl FnOnce(&Registry) -> R) -> R {
        f(&self
            .runtime
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wit_version_is_the_package_version_of_every_wit_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "wit") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let package = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("package berth:plugin@"))
                .and_then(|rest| rest.strip_suffix(';'));
            assert_eq!(package, Some(super::WIT_VERSION), "{}", path.display());
            files += 1;
        }
        assert!(files >= 7, "{files} files in {}", dir.display());
    }
}
