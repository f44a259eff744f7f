//! The official MCP conformance suite against berth, as part of
//! `cargo xtask test`.
//!
//! The suite's npm packages (and Node 22, from the npm package `node`) are
//! pinned in `conformance/package.json` and its lock file, installed with
//! `npm ci` into `~/.cache/berth/conformance` (again only when the lock
//! changes). berth serves `plugins/dist/conformance` on a free loopback
//! port; each run must pass.

use super::served::Served;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The suite runs: package, then arguments after `server --url URL`.
const RUNS: &[(&str, &[&str])] = &[
    ("@modelcontextprotocol/conformance", &["--suite", "active"]),
    ("@modelcontextprotocol/conformance", &["--suite", "all"]),
    ("conformance-next", &["--requirements", "2025-11-25"]),
    ("conformance-next", &["--requirements", "2026-07-28"]),
    // Pending in the suite (not scored by `--requirements`), so run by
    // name: the `Mcp-Param-*` headers of `x-mcp-header` arguments (SEP-2243).
    (
        "conformance-next",
        &["--scenario", "http-custom-header-server-validation"],
    ),
];

fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_CONFORMANCE_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/berth/conformance")
}

/// Installs the pinned packages unless the installed lock file is current.
fn install(root: &Path) -> Result<PathBuf> {
    let dir = install_dir();
    let source = root.join("conformance");
    let lock = std::fs::read(source.join("package-lock.json")).context("conformance lock file")?;
    let installed = std::fs::read(dir.join("package-lock.json")).ok();
    if installed.as_deref() == Some(lock.as_slice()) && dir.join("node_modules/.bin/node").exists()
    {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file)).with_context(|| file.to_owned())?;
    }
    super::run(
        Command::new("npm")
            .current_dir(&dir)
            .args(["ci", "--no-audit", "--no-fund"]),
    )
    .context("installing the conformance suite needs npm (from the machine's Node.js)")?;
    Ok(dir)
}

/// Runs every suite run against `berth` serving `dist/conformance`.
pub fn run(root: &Path, berth: &Path, dist: &Path) -> Result<()> {
    let dir = install(root)?;
    let server = Served::start(berth, &dist.join("conformance"), &[])?;
    let url = server.url();
    let node = dir.join("node_modules/.bin/node");
    for (package, args) in RUNS {
        let cli = dir.join("node_modules").join(package).join("dist/index.js");
        super::run(
            Command::new(&node)
                .arg(cli)
                .args(["server", "--url", &url])
                .args(*args)
                .current_dir(&dir),
        )
        .with_context(|| format!("conformance {package} {}", args.join(" ")))?;
    }
    drop(server);
    Ok(())
}
