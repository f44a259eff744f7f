//! Assembles the layers into a running host: kv store, plugin runtime,
//! handles, protocol server, and the background maintenance they need.
//!
//! The one place that knows every layer below `transport`; `main` and
//! embedders start here.

use crate::config::Config;
use crate::kv::{MemoryStore, SharedKv};
use crate::plugin::{LoadError, PluginHost, RuntimeError};
use crate::protocol::Server;
use crate::session::HandleStore;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A host ready to serve.
pub struct App {
    /// The protocol server.
    pub server: Arc<Server>,
    /// Plugins that failed to load (the rest are served).
    pub load_errors: Vec<LoadError>,
}

/// Why the host cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The runtime could not be created.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A plugin directory could not be read.
    #[error(transparent)]
    Plugins(#[from] LoadError),
}

impl App {
    /// Builds the host and loads every plugin in the configured directories.
    ///
    /// # Errors
    /// [`StartError`] when the runtime cannot start or a directory cannot
    /// be listed; a single bad plugin is only reported in `load_errors`.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let kv: SharedKv = Arc::new(MemoryStore::new(config.kv.clone()));
        let plugins = Arc::new(PluginHost::new(config.runtime.clone(), kv.clone())?);
        let load_errors = plugins.load_dirs(&config.plugin_dirs).await?;
        let handles = HandleStore::new(config.handles.clone(), kv.clone());
        let server = Arc::new(Server::new(
            plugins,
            kv,
            handles,
            config.sessions.clone(),
            config.server.clone(),
        ));
        Ok(Self {
            server,
            load_errors,
        })
    }

    /// Spawns the plugin watcher: every `interval` it reloads `dirs`, so
    /// added, changed and removed plugins are served without a restart. It
    /// stops when `shutdown` is cancelled.
    pub fn spawn_watcher(
        &self,
        dirs: Vec<std::path::PathBuf>,
        interval: std::time::Duration,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let server = self.server.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match server.plugins().reload(&dirs).await {
                    Ok(reloaded) => {
                        for e in reloaded.errors {
                            tracing::error!("{e}");
                        }
                    }
                    Err(e) => tracing::warn!("cannot look for plugin changes: {e}"),
                }
            }
        })
    }

    /// Spawns the maintenance task (idle sessions, expired handles and kv
    /// entries), run every `sessions.cleanup_interval`; it stops when
    /// `shutdown` is cancelled.
    pub fn spawn_maintenance(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let server = self.server.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(server.sessions().limits().cleanup_interval);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        let sessions = server.sessions().expire_idle().await;
                        let handles = server.handles().purge_expired().await;
                        let entries = server.kv().purge_expired().await.unwrap_or(0);
                        if sessions + handles + entries > 0 {
                            tracing::debug!(sessions, handles, entries, "expired state reclaimed");
                        }
                    }
                }
            }
        })
    }
}
