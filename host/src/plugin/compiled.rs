//! Compiled plugin code on disk, so a restart does not compile again.
//!
//! An entry is wasmtime's precompiled form of one `.wasm` file
//! (`Engine::precompile_component`), named by a hash of the file's path,
//! size, modification time and inode, and of the engine's compilation
//! settings. A hit maps the file (`Component::deserialize_file`) without
//! reading or hashing the `.wasm`: a cached 18 MB Python plugin starts in
//! milliseconds. A changed file, a new berth or other settings miss and
//! compile; entries of an older version of the same file are removed.
//!
//! Trust: wasmtime runs a precompiled file as native code without checks,
//! so berth only maps files it wrote itself, into its own cache directory,
//! by rename once complete. Whoever can write that directory can run code
//! as berth, as with berth's own binary. Owns nothing else of loading.

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

/// The cache file for `path` in its current state: `<dir>/<path hash>-<state
/// hash>.cwasm`. `None` if the file cannot be examined.
fn entry(engine: &Engine, dir: &Path, path: &Path) -> Option<(PathBuf, String)> {
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
    Some((dir.join(format!("{file}-{state}.cwasm")), file))
}

/// The component at `path`, from `dir`'s cache when it holds this version
/// of the file, else compiled (and stored there). Without `dir`, compiled.
///
/// # Errors
/// Reading or compiling fails: wasmtime's message.
pub(crate) fn load(engine: &Engine, dir: Option<&Path>, path: &Path) -> Result<Component, String> {
    let Some((dir, (cached, file))) = dir.and_then(|d| entry(engine, d, path).map(|e| (d, e)))
    else {
        return Component::from_file(engine, path).map_err(|e| format!("{e:#}"));
    };
    if cached.is_file() {
        // SAFETY: `cached` is in berth's own cache directory and was
        // written by `store` below from `Engine::precompile_component`
        // (complete before its rename into place); its name binds it to
        // this engine's settings and this version of the file.
        #[allow(unsafe_code)]
        let hit = unsafe { Component::deserialize_file(engine, &cached) };
        match hit {
            Ok(component) => {
                tracing::debug!(plugin = %path.display(), "compiled code from the cache");
                return Ok(component);
            }
            Err(e) => tracing::warn!(
                file = %cached.display(),
                error = %format!("{e:#}"),
                "cached plugin code unusable; compiling again"
            ),
        }
    }
    let started = std::time::Instant::now();
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let code = engine
        .precompile_component(&bytes)
        .map_err(|e| format!("{e:#}"))?;
    let component = {
        // SAFETY: `code` was produced just now by this engine's
        // `precompile_component`.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &code) };
        component.map_err(|e| format!("{e:#}"))?
    };
    tracing::debug!(
        plugin = %path.display(),
        ms = started.elapsed().as_millis() as u64,
        "compiled"
    );
    if let Err(e) = store(dir, &cached, &file, &code) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot cache compiled plugin code");
    }
    Ok(component)
}

/// Writes `code` to `cached` (via a private file renamed into place) and
/// removes older entries of the same file.
fn store(dir: &Path, cached: &Path, file: &str, code: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{file}-{}.tmp", std::process::id()));
    std::fs::write(&temp, code)?;
    std::fs::rename(&temp, cached)?;
    for old in std::fs::read_dir(dir)?.flatten() {
        let path = old.path();
        let name = old.file_name();
        let name = name.to_string_lossy();
        if path != cached && name.starts_with(&format!("{file}-")) && name.ends_with(".cwasm") {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}
