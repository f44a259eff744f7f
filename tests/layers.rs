//! Keeps the layering of DESIGN.md §2 honest: `transport → protocol →
//! {session, auth, plugin} → kv`, axum only in `transport`, wasmtime only in
//! `plugin`, clap only in `main.rs`. Reads the sources; fails naming the
//! file and line that crosses a boundary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// (module path prefix relative to src/, names it must not mention)
const RULES: &[(&str, &[&str])] = &[
    ("level.rs", &["crate::"]),
    ("logging.rs", &["crate::"]),
    // The log and the spans: leaves beside `logging`.
    (
        "telemetry",
        &[
            "crate::kv",
            "crate::auth",
            "crate::session",
            "crate::plugin",
            "crate::protocol",
            "crate::transport",
            "crate::project",
            "crate::config",
            "crate::app",
        ],
    ),
    (
        "auth/",
        &[
            "crate::kv",
            "crate::session",
            "crate::plugin",
            "crate::protocol",
            "crate::transport",
        ],
    ),
    (
        "kv/",
        &[
            "crate::session",
            "crate::plugin",
            "crate::protocol",
            "crate::transport",
        ],
    ),
    (
        "session/",
        &[
            "crate::plugin",
            "crate::protocol",
            "crate::transport",
            "crate::project",
            "wasmtime",
            "axum",
        ],
    ),
    (
        "plugin/",
        &[
            "crate::session",
            "crate::protocol",
            "crate::transport",
            "crate::project",
            "axum",
        ],
    ),
    (
        "protocol/",
        &["crate::transport", "wasmtime", "axum", "crate::project"],
    ),
    (
        "project/",
        &[
            "crate::protocol",
            "crate::transport",
            "crate::session",
            "crate::auth",
            "crate::kv",
            "axum",
        ],
    ),
    ("transport/", &["crate::project"]),
];

#[test]
fn modules_only_import_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "found the sources");
    let mut violations = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let mut forbidden: Vec<&str> = Vec::new();
            for (prefix, names) in RULES {
                if rel.starts_with(prefix) {
                    forbidden.extend(names.iter());
                }
            }
            // Crate-wide rules.
            if !rel.starts_with("transport/") {
                forbidden.push("axum::");
            }
            if !rel.starts_with("plugin/") {
                forbidden.push("wasmtime");
            }
            if rel != "main.rs" {
                forbidden.push("clap::");
            }
            for name in forbidden {
                if code.contains(name) {
                    violations.push(format!("src/{rel}:{}: mentions {name}: {code}", n + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}
