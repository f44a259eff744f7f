//! Plugins change while berth runs: reloading the plugin directories
//! loads added and changed `.wasm` files (or manifests) and drops removed
//! ones, then swaps the registry in one step. Calls in flight hold their
//! plugin and finish on the version they started with.

use super::loader::{Plugin, discover};
use super::registry::Registry;
use super::{Change, Lists, LoadError, PluginHost};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// What identifies a version of a plugin on disk: the `.wasm` file's and
/// its manifest's modification times and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    wasm: Option<(SystemTime, u64)>,
    manifest: Option<(SystemTime, u64)>,
}

fn stamp_of(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl FileStamp {
    /// The stamp of the plugin at `wasm` now.
    pub fn of(wasm: &Path) -> Self {
        Self {
            wasm: stamp_of(wasm),
            manifest: stamp_of(&wasm.with_extension("toml")),
        }
    }
}

/// The outcome of one reload.
#[derive(Debug, Default)]
pub struct Reloaded {
    /// Whether the served set changed (and subscribers were told).
    pub changed: bool,
    /// Plugins that could not be loaded this time. A changed file that
    /// fails keeps its previous version served.
    pub errors: Vec<LoadError>,
}

impl PluginHost {
    /// Brings the registry in line with `dirs`: loads new and changed
    /// plugins, drops removed ones, keeps unchanged ones as they are. A
    /// file that failed to load is not retried until it changes again.
    ///
    /// # Errors
    /// A directory that cannot be listed; nothing changes then.
    pub async fn reload(&self, dirs: &[PathBuf]) -> Result<Reloaded, LoadError> {
        let files = discover(dirs)?;
        let current = self.registry();
        let by_path: HashMap<&Path, &Arc<Plugin>> =
            current.plugins().map(|p| (p.path(), p)).collect();
        let mut next = Registry::default();
        let mut out = Reloaded::default();
        for file in &files {
            let stamp = FileStamp::of(file);
            let existing = by_path.get(file.as_path()).copied();
            let plugin = match existing {
                Some(p) if p.stamp == stamp => p.clone(),
                _ if self.failed_before(file, stamp) => match existing {
                    Some(p) => p.clone(),
                    None => continue,
                },
                _ => match self.load_file(file).await {
                    Ok(p) => {
                        self.forget_failure(file);
                        out.changed = true;
                        tracing::info!(plugin = p.name(), path = %file.display(), "plugin loaded");
                        p
                    }
                    Err(e) => {
                        self.remember_failure(file, stamp);
                        out.errors.push(e);
                        match existing {
                            Some(p) => p.clone(),
                            None => continue,
                        }
                    }
                },
            };
            if let Err(e) = next.add(plugin) {
                out.errors.push(e);
            }
        }
        // Which lists changed: those of every plugin added, replaced or
        // removed.
        let mut lists = Lists::default();
        for p in current.plugins() {
            if !next.plugins().any(|n| Arc::ptr_eq(n, p)) {
                lists.add(p.exports);
            }
        }
        for p in next.plugins() {
            if !current.plugins().any(|c| Arc::ptr_eq(c, p)) {
                lists.add(p.exports);
            }
        }
        out.changed |= lists != Lists::default();
        if out.changed {
            *self
                .runtime
                .registry
                .write()
                .unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
            self.announce(Change::ListsChanged(lists));
        }
        Ok(out)
    }

    fn failed_before(&self, file: &Path, stamp: FileStamp) -> bool {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(file)
            == Some(&stamp)
    }

    fn remember_failure(&self, file: &Path, stamp: FileStamp) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(file.to_owned(), stamp);
    }

    fn forget_failure(&self, file: &Path) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(file);
    }
}
