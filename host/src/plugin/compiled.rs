//! Compiled plugin code on disk, so a restart does not compile again.
//!
//! Entries are wasmtime's precompiled form of a component
//! (`Engine::precompile_component`), `<content>.cwasm`, named by a hash of
//! the `.wasm` bytes and of the engine's compilation settings, so copies of
//! one plugin (a build's output and its copy in a served directory) share
//! one entry. A small `<file>-<state>.key` per plugin file, named by a hash
//! of its path, size, modification time and inode, names its entry: a
//! restart maps the entry (`Component::deserialize_file`) without reading
//! or hashing the `.wasm`, so a cached 18 MB Python plugin starts in
//! milliseconds. A changed file misses its key and is hashed; new content
//! or a new berth compiles. Keys of older versions of a file are removed,
//! and entries no key names once they are an hour old.
//!
//! Trust: wasmtime runs a precompiled file as native code without checks,
//! so berth only maps files it wrote itself, into its own cache directory,
//! by rename once complete. Whoever can write that directory can run code
//! as berth, as with berth's own binary. Owns nothing else of loading.

use super::error::CompileError;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Feeds `Hash` values into SHA-256 (stable across runs, unlike std's
/// hasher).
struct Sha(Sha256);

impl Hasher for Sha {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Orphaned entries younger than this are kept: another berth may have
/// just written one and not yet its key.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The key file for `path` in its current state, `<dir>/<file>-<state>.key`,
/// and the `<file>` part. `None` if the file cannot be examined.
fn key_file(engine: &Engine, dir: &Path, path: &Path) -> Option<(PathBuf, String)> {
    let canonical = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&canonical).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let file = hex(&Sha256::digest(canonical.as_os_str().as_encoded_bytes())[..8]);
    let mut state = Sha(Sha256::new());
    env!("CARGO_PKG_VERSION").hash(&mut state);
    meta.len().hash(&mut state);
    modified.as_nanos().hash(&mut state);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec()).hash(&mut state);
    }
    engine.precompile_compatibility_hash().hash(&mut state);
    let state = hex(&state.0.finalize()[..12]);
    Some((dir.join(format!("{file}-{state}.key")), file))
}

/// The entry name for component bytes under this engine.
fn content_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut hash = Sha(Sha256::new());
    env!("CARGO_PKG_VERSION").hash(&mut hash);
    engine.precompile_compatibility_hash().hash(&mut hash);
    hash.0.update(bytes);
    format!("{}.cwasm", hex(&hash.0.finalize()[..16]))
}

/// Maps the entry `name` in `dir`, if it is there and usable.
fn map(engine: &Engine, dir: &Path, name: &str, plugin: &Path) -> Option<Component> {
    let entry = dir.join(name);
    if !entry.is_file() {
        return None;
    }
    // SAFETY: `entry` is in berth's own cache directory and was written by
    // `store` below from `Engine::precompile_component` (complete before
    // its rename into place); its name binds it to this engine's settings.
    #[allow(unsafe_code)]
    let mapped = unsafe { Component::deserialize_file(engine, &entry) };
    match mapped {
        Ok(component) => {
            tracing::debug!(plugin = %plugin.display(), "compiled code from the cache");
            Some(component)
        }
        Err(e) => {
            tracing::warn!(
                file = %entry.display(),
                error = %format!("{e:#}"),
                "cached plugin code unusable; compiling again"
            );
            let _ = std::fs::remove_file(&entry);
            None
        }
    }
}

/// The component at `path`, from `dir`'s cache when it holds it, else
/// compiled (and stored there). Without `dir`, compiled.
///
/// # Errors
/// [`CompileError`]: reading or compiling failed.
pub(crate) fn load(
    engine: &Engine,
    dir: Option<&Path>,
    path: &Path,
) -> Result<Component, CompileError> {
    let Some((dir, (key, file))) = dir.and_then(|d| key_file(engine, d, path).map(|k| (d, k)))
    else {
        return Component::from_file(engine, path).map_err(CompileError::Wasmtime);
    };
    if let Some(component) = std::fs::read_to_string(&key)
        .ok()
        .and_then(|name| map(engine, dir, name.trim(), path))
    {
        return Ok(component);
    }
    let bytes = std::fs::read(path).map_err(CompileError::Read)?;
    let name = content_name(engine, &bytes);
    let component = match map(engine, dir, &name, path) {
        Some(component) => component,
        None => {
            let started = std::time::Instant::now();
            let code = engine
                .precompile_component(&bytes)
                .map_err(CompileError::Wasmtime)?;
            // SAFETY: `code` was produced just now by this engine's
            // `precompile_component`.
            #[allow(unsafe_code)]
            let component = unsafe { Component::deserialize(engine, &code) };
            let component = component.map_err(CompileError::Wasmtime)?;
            tracing::debug!(
                plugin = %path.display(),
                ms = started.elapsed().as_millis() as u64,
                "compiled plugin code"
            );
            if let Err(e) = write_new(&dir.join(&name), &code) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot cache compiled plugin code");
            }
            component
        }
    };
    if let Err(e) = store_key(dir, &key, &file, &name) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot cache compiled plugin code");
    }
    Ok(component)
}

/// Writes `bytes` to `path` via a private file renamed into place.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}-{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

/// Points `key` at entry `name`, removes the keys of older versions of the
/// same file, then entries no key names (once they are old enough).
fn store_key(dir: &Path, key: &Path, file: &str, name: &str) -> std::io::Result<()> {
    write_new(key, name.as_bytes())?;
    let mut named = std::collections::HashSet::new();
    let mut entries = Vec::new();
    for found in std::fs::read_dir(dir)?.flatten() {
        let path = found.path();
        let found_name = found.file_name().to_string_lossy().into_owned();
        if found_name.ends_with(".key") {
            if path != key && found_name.starts_with(&format!("{file}-")) {
                let _ = std::fs::remove_file(&path);
            } else if let Ok(target) = std::fs::read_to_string(&path) {
                named.insert(target.trim().to_owned());
            }
        } else if found_name.ends_with(".cwasm") {
            entries.push((path, found_name));
        }
    }
    for (path, entry) in entries {
        let old = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ORPHAN_AGE);
        if old && !named.contains(&entry) {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}
