//! Embeds what `berth new` and `berth build` write out for plugin authors:
//! the WIT contract, the SDKs and the project templates. Generates
//! `$OUT_DIR/embedded.rs`, a sorted list of (path relative to the
//! repository, bytes) that `src/project/embedded.rs` includes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Directories embedded whole, relative to the repository root.
const TREES: &[&str] = &[
    "wit",
    "plugins/sdk/src",
    "plugins/sdk-python",
    "plugins/sdk-js",
    "plugins/sdk-c",
    "plugins/sdk-cpp",
    "plugins/sdk-zig",
    "plugins/templates",
    "plugins/wit-deps",
];
/// Single files embedded.
const FILES: &[&str] = &["plugins/sdk/Cargo.toml"];
/// Names never embedded: build output and caches.
const SKIP: &[&str] = &["node_modules", "__pycache__", "target", ".berth", "tests"];

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        let path = rel.join(&name);
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() -> std::io::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut files: Vec<PathBuf> = FILES.iter().map(PathBuf::from).collect();
    for tree in TREES {
        println!("cargo:rerun-if-changed={}", root.join(tree).display());
        walk(&root, Path::new(tree), &mut files);
    }
    for file in FILES {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    files.sort();
    let mut code = String::from("&[\n");
    for rel in &files {
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        let abs = root.join(rel);
        let _ = writeln!(
            code,
            "    ({rel_text:?}, include_bytes!({:?}).as_slice()),",
            abs.to_string_lossy()
        );
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    std::fs::write(&out, code)
}
