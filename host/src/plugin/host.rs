//! The per-call store data and the host side of `berth:plugin/context`.
//!
//! Everything a plugin can reach goes through here: WASI (deny by default),
//! `wasi:http` (through the hooks of `outbound`),
//! the memory limiter, the deadline, and the `context` imports, each of
//! which acts on the request the call belongs to.

use super::bindings::berth::plugin::{context, types};
use super::{CallEvents, CallScopes, LogBudget};
use crate::auth::Principal;
use crate::kv::{KvError, Namespace, SharedKv};
use crate::level::LogLevel;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Most bytes of a log message or progress message passed on.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Most keys one `kv-list` returns.
const MAX_LIST_KEYS: usize = 1000;

/// Caps linear memory growth and remembers whether the cap was hit.
pub(crate) struct MemoryLimiter {
    pub(crate) max_bytes: usize,
    pub(crate) hit: bool,
    /// The largest linear memory granted so far.
    pub(crate) peak: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// What is left of one call's [`LogBudget`].
#[derive(Debug)]
pub(crate) struct LogLeft {
    budget: LogBudget,
    messages: u32,
    bytes: usize,
    /// Whether a message was dropped (and that was said).
    exhausted: bool,
}

impl From<LogBudget> for LogLeft {
    fn from(budget: LogBudget) -> Self {
        Self {
            budget,
            messages: budget.messages,
            bytes: budget.bytes,
            exhausted: false,
        }
    }
}

impl LogLeft {
    /// Takes `size` bytes and one message from the budget; false (and the
    /// budget is spent) if they do not fit.
    fn take(&mut self, size: usize) -> bool {
        if self.exhausted || self.messages == 0 || size > self.bytes {
            return false;
        }
        self.messages -= 1;
        self.bytes -= size;
        true
    }
}

/// What a call knows about its request.
pub(crate) struct CallState {
    pub(crate) principal: Principal,
    pub(crate) scopes: CallScopes,
    pub(crate) events: Arc<dyn CallEvents>,
    pub(crate) cancel: CancellationToken,
    pub(crate) client: super::ClientFeatures,
}

/// The data of one `Store`: one call, or one describe at load time.
pub(crate) struct StoreData {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) deadline: Instant,
    pub(crate) deadline_hit: bool,
    pub(crate) plugin: Arc<str>,
    pub(crate) kv: SharedKv,
    pub(crate) call: Option<CallState>,
    pub(crate) last_progress: Option<f64>,
    /// What is left of the call's log budget.
    pub(crate) log_left: LogLeft,
    pub(crate) changes: tokio::sync::broadcast::Sender<super::Change>,
    /// The registry: a plugin may announce updates of its own resources
    /// only.
    pub(crate) registry: super::SharedRegistry,
    /// Whether this call tried to announce a URI it does not own (said
    /// once in the log).
    pub(crate) announced_foreign: bool,
    /// `wasi:http` state.
    pub(crate) http: WasiHttpCtx,
    /// berth's `wasi:http` hooks: the grants and limits of outbound HTTP.
    pub(crate) outbound: super::outbound::Outbound,
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl StoreData {
    /// Time left before the deadline.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn namespace(&self, scope: context::Scope) -> Result<Namespace, context::KvError> {
        let call = self.call.as_ref().ok_or(context::KvError::NoScope)?;
        let scope = match scope {
            context::Scope::Session => call.scopes.session.clone(),
            context::Scope::User => Some(call.scopes.user.clone()),
        }
        .ok_or(context::KvError::NoScope)?;
        Ok(Namespace {
            scope,
            plugin: self.plugin.clone(),
        })
    }
}

fn level(l: types::LogLevel) -> LogLevel {
    match l {
        types::LogLevel::Debug => LogLevel::Debug,
        types::LogLevel::Info => LogLevel::Info,
        types::LogLevel::Notice => LogLevel::Notice,
        types::LogLevel::Warning => LogLevel::Warning,
        types::LogLevel::Error => LogLevel::Error,
        types::LogLevel::Critical => LogLevel::Critical,
        types::LogLevel::Alert => LogLevel::Alert,
        types::LogLevel::Emergency => LogLevel::Emergency,
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn kv_error(e: KvError) -> context::KvError {
    match e {
        KvError::InvalidKey { reason } => context::KvError::InvalidKey(reason.to_owned()),
        e @ KvError::QuotaExceeded { .. } => context::KvError::QuotaExceeded(e.to_string()),
        KvError::Unavailable(m) => context::KvError::Unavailable(m),
    }
}

impl types::Host for StoreData {}

impl context::Host for StoreData {
    fn log(
        &mut self,
        level_: types::LogLevel,
        message: String,
        data: Option<String>,
    ) -> wasmtime::Result<()> {
        let level = level(level_);
        let message = truncate(message);
        let data = data.map(truncate);
        let plugin = &*self.plugin;
        let size = message.len() + data.as_ref().map_or(0, String::len);
        if !self.log_left.take(size) {
            if !self.log_left.exhausted {
                self.log_left.exhausted = true;
                let budget = self.log_left.budget;
                let notice = format!(
                    "this call reached its log limit ({} messages, {} KiB); its further log messages are dropped",
                    budget.messages,
                    budget.bytes >> 10
                );
                tracing::warn!(plugin, "{notice}");
                if let Some(call) = &self.call {
                    call.events.log(plugin, LogLevel::Warning, &notice, None);
                }
            }
            return Ok(());
        }
        let data = data.map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d)));
        match level {
            LogLevel::Debug => tracing::debug!(plugin, %message, "plugin log"),
            LogLevel::Info | LogLevel::Notice => tracing::info!(plugin, %message, "plugin log"),
            LogLevel::Warning => tracing::warn!(plugin, %message, "plugin log"),
            _ => tracing::error!(plugin, %message, "plugin log"),
        }
        if let Some(call) = &self.call {
            call.events.log(plugin, level, &message, data);
        }
        Ok(())
    }

    fn progress(
        &mut self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        let Some(call) = &self.call else {
            return Ok(());
        };
        // Progress must increase strictly; anything else is dropped.
        if !progress.is_finite() || self.last_progress.is_some_and(|last| progress <= last) {
            return Ok(());
        }
        self.last_progress = Some(progress);
        call.events.progress(
            progress,
            total.filter(|t| t.is_finite()),
            message.map(truncate),
        );
        Ok(())
    }

    fn cancelled(&mut self) -> wasmtime::Result<bool> {
        Ok(self.call.as_ref().is_some_and(|c| c.cancel.is_cancelled()))
    }

    fn principal(&mut self) -> wasmtime::Result<context::Identity> {
        let p = match &self.call {
            Some(call) => call.principal.clone(),
            None => Principal::anonymous(),
        };
        Ok(context::Identity {
            subject: p.subject.to_string(),
            tenant: p.tenant.to_string(),
            scopes: p.scopes.to_vec(),
        })
    }

    async fn kv_get(
        &mut self,
        scope: context::Scope,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, context::KvError>> {
        let ns = match self.namespace(scope) {
            Ok(ns) => ns,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.kv.get(&ns, &key).await.map_err(kv_error))
    }

    async fn kv_set(
        &mut self,
        scope: context::Scope,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> wasmtime::Result<Result<(), context::KvError>> {
        let ns = match self.namespace(scope) {
            Ok(ns) => ns,
            Err(e) => return Ok(Err(e)),
        };
        let ttl = ttl_ms.map(Duration::from_millis);
        Ok(self.kv.set(&ns, &key, value, ttl).await.map_err(kv_error))
    }

    async fn kv_delete(
        &mut self,
        scope: context::Scope,
        key: String,
    ) -> wasmtime::Result<Result<bool, context::KvError>> {
        let ns = match self.namespace(scope) {
            Ok(ns) => ns,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.kv.delete(&ns, &key).await.map_err(kv_error))
    }

    async fn kv_list(
        &mut self,
        scope: context::Scope,
        prefix: String,
    ) -> wasmtime::Result<Result<Vec<String>, context::KvError>> {
        let ns = match self.namespace(scope) {
            Ok(ns) => ns,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self
            .kv
            .list(&ns, &prefix, MAX_LIST_KEYS)
            .await
            .map_err(kv_error))
    }

    fn client_supports(&mut self, feature: context::ClientFeature) -> wasmtime::Result<bool> {
        let Some(call) = &self.call else {
            return Ok(false);
        };
        Ok(match feature {
            context::ClientFeature::Elicitation => call.client.elicitation,
            context::ClientFeature::Sampling => call.client.sampling,
            context::ClientFeature::Roots => call.client.roots,
        })
    }

    fn resource_updated(&mut self, uri: String) -> wasmtime::Result<()> {
        let uri = truncate(uri);
        let owned = self
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .resource_owner(&uri)
            .is_some_and(|owner| owner.name == self.plugin);
        if !owned {
            if !self.announced_foreign {
                self.announced_foreign = true;
                tracing::warn!(
                    plugin = &*self.plugin,
                    %uri,
                    "a plugin announced an update of a resource it does not serve; dropped"
                );
            }
            return Ok(());
        }
        tracing::debug!(plugin = &*self.plugin, %uri, "resource updated");
        let _ = self
            .changes
            .send(super::Change::ResourceUpdated(Arc::from(uri)));
        Ok(())
    }
}
