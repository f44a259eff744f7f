//! The per-process wasmtime pieces: one `Engine`, one `Linker`, the epoch
//! ticker, and the construction of a fresh `Store` for each call.

use super::RuntimeOptions;
use super::bindings::Plugin as PluginWorld;
use super::error::RuntimeError;
use super::host::{CallState, MemoryLimiter, StoreData};
use super::outbound::{HttpRules, Outbound};
use super::retire::Retired;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// How often the epoch advances; the granularity of deadlines and of
/// cancellation of a busy plugin.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);
/// Linear memory kept resident between calls when dirty pages can be found
/// cheaply (Linux 6.7+ PAGEMAP_SCAN).
const KEEP_RESIDENT_WITH_SCAN: usize = 8 << 20;
/// Otherwise the whole window is reset with `memset`, so keep it small.
const KEEP_RESIDENT_WITHOUT_SCAN: usize = 64 << 10;
/// Most bytes of a call's stdout or stderr kept for the host log.
const MAX_CAPTURED_OUTPUT: usize = 64 * 1024;

/// Creates the engine: async, epoch interruption, pooling allocator (or
/// on-demand allocation where the pool's address space is not available),
/// compiled-code cache.
pub(crate) fn engine(options: &RuntimeOptions) -> Result<Engine, RuntimeError> {
    let base = || -> Result<wasmtime::Config, RuntimeError> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        // Metering costs every call time, so only when a budget is set.
        config.consume_fuel(options.default_limits.cpu_fuel.is_some());
        config.wasm_component_model(true);
        Ok(config)
    };
    let mut pooled = base()?;
    // Calls in flight (finished ones waiting to be dropped still hold their
    // permit, see `retire`) and describes at load.
    let slots = options.max_concurrent_calls.saturating_add(8);
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        .max_memory_size(options.max_memory_bytes())
        // Instance-per-call resets a slot after every call. Keeping the
        // touched pages resident (reset in place rather than unmapped)
        // avoids a page fault per page per call and the TLB shootdowns of
        // `madvise`; with PAGEMAP_SCAN only dirty pages are reset, so a
        // generous window costs nothing when unused.
        .decommit_batch_size(16);
    if wasmtime::PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_WITH_SCAN)
            .table_keep_resident(64 << 10);
    } else {
        pool.linear_memory_keep_resident(KEEP_RESIDENT_WITHOUT_SCAN)
            .table_keep_resident(16 << 10);
    }
    pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!(error = %e, "pooling allocator unavailable; allocating instances on demand");
            Engine::new(&base()?).map_err(RuntimeError::Engine)
        }
    }
}

/// The linker every plugin is instantiated with: WASI p2 (capabilities
/// come from each store's `WasiCtx`), `wasi:http` and berth's `context`.
pub(crate) fn linker(engine: &Engine) -> Result<Linker<StoreData>, RuntimeError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(RuntimeError::Link)?;
    // Always linked, so components that import it load; every request is
    // checked by `outbound` (denied unless the manifest grants the host).
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(RuntimeError::Link)?;
    PluginWorld::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |s| s)
        .map_err(RuntimeError::Link)?;
    Ok(linker)
}

/// The rules of a plugin granted no hosts: every request is refused.
fn no_http() -> Arc<HttpRules> {
    static NONE: std::sync::OnceLock<Arc<HttpRules>> = std::sync::OnceLock::new();
    NONE.get_or_init(|| Arc::new(HttpRules::default())).clone()
}

/// Advances the engine's epoch, and drops retired stores left waiting,
/// until dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine, retired: Arc<Retired>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("berth-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                    retired.flush_idle();
                }
            })
            .map_err(|e| tracing::error!(error = %e, "cannot start the epoch thread"))
            .ok();
        Self { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A plugin call's captured stdout and stderr.
pub(crate) struct Output {
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
}

impl Output {
    /// Writes what the plugin printed to the host log (never to the
    /// client: on stdio, stdout is the protocol channel).
    pub(crate) fn log(&self, plugin: &str, failed: bool) {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            if !bytes.is_empty() {
                let text = String::from_utf8_lossy(&bytes);
                let output = text.trim_end();
                if failed {
                    tracing::error!(plugin, stream, output, "plugin output before it failed");
                } else {
                    tracing::info!(plugin, stream, output, "plugin output");
                }
            }
        }
    }
}

/// A fresh store for one call (or one describe) of `plugin`: deny-by-default
/// WASI with only the manifest's grants, memory limit, epoch deadline.
pub(crate) fn store(
    runtime: &super::Runtime,
    plugin: &super::Plugin,
    call: Option<CallState>,
) -> wasmtime::Result<(Store<StoreData>, Output)> {
    let manifest = &plugin.manifest;
    let limits = manifest.limits;
    let output = Output {
        stdout: MemoryOutputPipe::new(MAX_CAPTURED_OUTPUT),
        stderr: MemoryOutputPipe::new(MAX_CAPTURED_OUTPUT),
    };
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(output.stdout.clone())
        .stderr(output.stderr.clone());
    // Exactly the granted variables and secrets: nothing is inherited.
    for (k, v) in &plugin.granted.env {
        wasi.env(k, v.as_str());
    }
    for dir in &plugin.granted.dirs {
        let perms = if dir.writable {
            wasmtime_wasi::FsPerms::ReadWrite
        } else {
            wasmtime_wasi::FsPerms::ReadOnly
        };
        wasi.preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|e| {
                e.context(format!(
                    "cannot open granted directory {}",
                    dir.host.display()
                ))
            })?;
    }
    let deadline = Instant::now() + limits.deadline;
    let rules = if plugin.granted.http.is_empty() {
        no_http()
    } else {
        Arc::new(HttpRules {
            grants: plugin.granted.http.clone(),
            allow_private: runtime.options.sandbox.allow_private_hosts.clone(),
            allow_plain_http: runtime.options.sandbox.allow_plain_http,
            max_body: runtime.options.max_http_response_bytes,
        })
    };
    let data = StoreData {
        http: wasmtime_wasi_http::WasiHttpCtx::new(),
        outbound: Outbound::new(rules, plugin.name.clone()),
        wasi: wasi.build(),
        table: wasmtime::component::ResourceTable::new(),
        limiter: MemoryLimiter {
            max_bytes: limits.memory_bytes,
            hit: false,
            peak: 0,
        },
        deadline,
        deadline_hit: false,
        plugin: plugin.name.clone(),
        kv: runtime.kv.clone(),
        call,
        last_progress: None,
        log_left: runtime.options.log_budget.into(),
        changes: runtime.changes.clone(),
        registry: runtime.registry.clone(),
        announced_foreign: false,
    };
    let mut store = Store::new(&runtime.engine, data);
    store.limiter(|d| &mut d.limiter);
    if let Some(fuel) = limits.cpu_fuel {
        store
            .set_fuel(fuel)
            .map_err(|e| e.context("cannot set the CPU budget"))?;
    }
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        if cx.data().remaining().is_zero() {
            cx.data_mut().deadline_hit = true;
            return Err(wasmtime::format_err!("deadline exceeded"));
        }
        // Yield to the executor each tick, so a busy plugin never starves
        // other tasks and a cancelled call can be dropped promptly.
        Ok(UpdateDeadline::Yield(1))
    });
    Ok((store, output))
}
