//! `cargo xtask release`: berth built with profile-guided optimisation.
//!
//! 1. berth is built instrumented (`-Cprofile-generate`);
//! 2. it serves the example plugins on a free loopback port while
//!    `berth-load` (from `bench/`) drives the hot paths: `tools/call` in
//!    both eras, a call the host answers itself, legacy handshakes, a
//!    stateful tool;
//! 3. it stops as on SIGTERM, which writes the profile, and
//!    `llvm-profdata` (rustup's `llvm-tools`) merges it;
//! 4. berth is built again with `-Cprofile-use`.
//!
//! Each build has its own target directory under `<target>/pgo`, since
//! `RUSTFLAGS` differ from the normal build's; later runs rebuild only what
//! changed. The result is `<target>/pgo/use/release/berth`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::served::Served;

/// The training load: `berth-load` arguments after `--url URL`.
const TRAINING: &[&[&str]] = &[
    &["--era", "legacy", "--clients", "16", "--calls", "1500"],
    &["--era", "modern", "--clients", "16", "--calls", "1500"],
    &[
        "--era",
        "legacy",
        "--clients",
        "16",
        "--calls",
        "500",
        "--tool",
        "no_such_tool",
        "--expect-error",
    ],
    &["--mode", "handshakes", "--clients", "16", "--count", "5000"],
    &[
        "--clients",
        "4",
        "--calls",
        "300",
        "--tool",
        "counter_increment",
        "--args",
        "{}",
    ],
];

/// `llvm-profdata` of the active toolchain, installing `llvm-tools` if
/// it is missing.
fn llvm_profdata() -> Result<PathBuf> {
    let rustc = |arg: &str| -> Result<String> {
        let out = Command::new("rustc")
            .arg(arg)
            .output()
            .context("running rustc")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let sysroot = rustc("--print=sysroot")?;
    let host = rustc("-vV")?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV names no host")?;
    let tool = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-profdata");
    if !tool.exists() {
        super::run(Command::new("rustup").args(["component", "add", "llvm-tools"]))?;
    }
    if !tool.exists() {
        bail!("{} is missing after adding llvm-tools", tool.display());
    }
    Ok(tool)
}

/// Builds berth in release with `rustflags`, into `target`.
fn build_berth(root: &Path, target: &Path, rustflags: &str) -> Result<PathBuf> {
    super::run(
        super::cargo()
            .current_dir(root)
            .env("CARGO_TARGET_DIR", target)
            .env("RUSTFLAGS", rustflags)
            .args(["build", "--release", "-p", "berth"]),
    )?;
    Ok(target.join("release/berth"))
}

/// Builds the load generator (release, like the benchmarks).
fn build_load(root: &Path, target: &Path) -> Result<PathBuf> {
    super::run(
        super::cargo()
            .current_dir(root.join("bench"))
            .env("CARGO_TARGET_DIR", target)
            .args(["build", "--release", "-p", "berth-load"]),
    )?;
    Ok(target.join("release/berth-load"))
}

/// Builds berth with PGO; returns the binary.
pub fn release(root: &Path, target: &Path, dist: &Path) -> Result<PathBuf> {
    let base = target.join("pgo");
    let profiles = base.join("profiles");
    let raw = profiles.join("raw");
    let _ = std::fs::remove_dir_all(&raw);
    std::fs::create_dir_all(&raw).with_context(|| raw.display().to_string())?;
    let profdata = llvm_profdata()?;
    // Build scripts of the instrumented build write their own profiles;
    // they go elsewhere and are not merged.
    let instrumented = build_berth(
        root,
        &base.join("generate"),
        &format!("-Cprofile-generate={}", profiles.join("build").display()),
    )?;
    let load = build_load(root, &base.join("tools"))?;

    let pattern = raw.join("berth-%p-%m.profraw");
    let server = Served::start(&instrumented, dist, &[("LLVM_PROFILE_FILE", &pattern)])?;
    let url = server.url();
    for args in TRAINING {
        super::run(Command::new(&load).args(["--url", &url]).args(*args))?;
    }
    server.stop()?;

    let merged = profiles.join("berth.profdata");
    super::run(
        Command::new(&profdata)
            .arg("merge")
            .arg("-o")
            .arg(&merged)
            .arg(&raw),
    )?;
    build_berth(
        root,
        &base.join("use"),
        &format!("-Cprofile-use={}", merged.display()),
    )
}
