//! The files berth carries for plugin authors (the WIT contract, the SDKs,
//! the project templates; see `build.rs`), and writing them out.
//!
//! The SDKs and WIT are written once per content into
//! `~/.cache/berth/sdk/<hash>/`, laid out as in the repository (`wit/`,
//! `plugins/sdk`, `plugins/sdk-python`, ...), so the Rust SDK's relative
//! path to the WIT holds there too.

use super::ProjectError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// (path relative to the repository, contents), sorted by path.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

const TEMPLATES: &str = "plugins/templates/";

/// The files of template `lang` with `{{name}}` replaced by `name` (in
/// paths and text), relative to the new project's directory.
pub(super) fn template(lang: &str, name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let prefix = format!("{TEMPLATES}{lang}/");
    FILES
        .iter()
        .filter_map(|(path, bytes)| {
            let rel = path.strip_prefix(&prefix)?;
            let rel = rel.replace("{{name}}", name);
            let bytes = match std::str::from_utf8(bytes) {
                Ok(text) => text.replace("{{name}}", name).into_bytes(),
                Err(_) => bytes.to_vec(),
            };
            Some((PathBuf::from(rel), bytes))
        })
        .collect()
}

/// The SDK and WIT files (everything but the templates).
fn sdk_files() -> impl Iterator<Item = &'static (&'static str, &'static [u8])> {
    FILES
        .iter()
        .filter(|(path, _)| !path.starts_with(TEMPLATES))
}

/// Writes the SDKs and WIT under `root/<hash of their contents>` unless
/// they are there already; returns that directory. Writers race safely:
/// each writes a private directory and renames it into place.
pub(super) fn materialize(root: &Path) -> Result<PathBuf, ProjectError> {
    let mut hash = Sha256::new();
    for (path, bytes) in sdk_files() {
        hash.update(path.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    let digest = hash.finalize();
    let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let dir = root.join(format!("{}-{key}", env!("CARGO_PKG_VERSION")));
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(root).map_err(ProjectError::io(root))?;
    let temp = root.join(format!(".{key}-{}", std::process::id()));
    for (rel, bytes) in sdk_files() {
        let path = temp.join(rel);
        if let Some(up) = path.parent() {
            std::fs::create_dir_all(up).map_err(ProjectError::io(up))?;
        }
        std::fs::write(&path, bytes).map_err(ProjectError::io(&path))?;
    }
    if let Err(e) = std::fs::rename(&temp, &dir) {
        let _ = std::fs::remove_dir_all(&temp);
        if !dir.is_dir() {
            return Err(ProjectError::Io {
                path: dir,
                source: e,
            });
        }
    }
    Ok(dir)
}

/// The languages that have a template, by directory name.
#[cfg(test)]
pub(super) fn template_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = FILES
        .iter()
        .filter_map(|(path, _)| path.strip_prefix(TEMPLATES)?.split('/').next())
        .map(str::to_owned)
        .collect();
    dirs.dedup();
    dirs
}
