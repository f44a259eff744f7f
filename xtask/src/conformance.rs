//! The official MCP conformance suite against berth, as part of
//! `cargo xtask test`.
//!
//! The suite's npm packages (and Node 22, from the npm package `node`) are
//! pinned in `conformance/package.json` and its lock file, installed with
//! `npm ci` into `~/.cache/berth/conformance` (again only when the lock
//! changes). berth serves `conformance/` of the tests' dist directory
//! (`plugins::test_dist`) on a free loopback port; each run must pass. Scenarios the suite runs but does not score
//! (the optional `tasks` extension, pending ones) are reported apart from
//! failures of scored ones.

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

/// What one run printed, in figures: checks of scored scenarios, and the
/// scenarios the suite runs but does not score (extensions, pending).
#[derive(Debug, Default, PartialEq)]
struct Tally {
    scored_failed: u64,
    unscored_failing: Vec<String>,
}

/// Reads the suite's summary: `✗ name: P passed, F failed` per scenario,
/// `Total: P passed, F failed`, and after `Not scored for …` the list of
/// unscored scenarios (`✗ name (extension)`).
fn tally(output: &str) -> Tally {
    let mut failed_checks = std::collections::HashMap::new();
    let mut total_failed = 0;
    let mut unscored = Vec::new();
    let mut in_unscored = false;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Total:") {
            total_failed = figure(rest, "failed");
        } else if line.starts_with("Not scored for") {
            in_unscored = true;
        } else if let Some(rest) = line.strip_prefix("✗ ") {
            if in_unscored {
                let name = rest.split(' ').next().unwrap_or_default();
                unscored.push(name.to_owned());
            } else if let Some((name, figures)) = rest.split_once(':') {
                failed_checks.insert(name.to_owned(), figure(figures, "failed"));
            }
        }
    }
    let unscored_checks: u64 = unscored
        .iter()
        .map(|n| failed_checks.get(n).copied().unwrap_or(0))
        .sum();
    Tally {
        scored_failed: total_failed.saturating_sub(unscored_checks),
        unscored_failing: unscored,
    }
}

/// The number before `word` in `text` like ` 160 passed, 30 failed`.
fn figure(text: &str, word: &str) -> u64 {
    text.split(',')
        .find_map(|part| part.trim().strip_suffix(word)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs every suite run against `berth` serving `dist/conformance`.
/// Returns a summary for the verdict line.
pub fn run(root: &Path, berth: &Path, dist: &Path) -> Result<String> {
    let dir = install(root)?;
    let server = Served::start(berth, &dist.join("conformance"), &[])?;
    let url = server.url();
    let node = dir.join("node_modules/.bin/node");
    let mut unscored = Vec::new();
    for (package, args) in RUNS {
        let cli = dir.join("node_modules").join(package).join("dist/index.js");
        let mut cmd = Command::new(&node);
        cmd.arg(cli)
            .args(["server", "--url", &url])
            .args(*args)
            .current_dir(&dir);
        eprintln!("+ {cmd:?}");
        let out = cmd.output().context("running the conformance suite")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprint!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let t = tally(&stdout);
        let what = format!("conformance {package} {}", args.join(" "));
        eprintln!(
            "{what}: {} failed check(s) in scored scenarios; {} unscored scenario(s) failing{}",
            t.scored_failed,
            t.unscored_failing.len(),
            if t.unscored_failing.is_empty() {
                String::new()
            } else {
                format!(
                    " ({}), which do not affect conformance",
                    t.unscored_failing.join(", ")
                )
            }
        );
        if !out.status.success() {
            anyhow::bail!("{what} failed ({})", out.status);
        }
        unscored.extend(t.unscored_failing);
    }
    drop(server);
    unscored.sort();
    unscored.dedup();
    Ok(format!(
        "{} runs, scored scenarios all pass; {} unscored extension scenarios fail",
        RUNS.len(),
        unscored.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scored_failures_are_told_apart_from_unscored_ones() {
        let out = "✓ a: 2 passed, 0 failed\n✗ tasks-x: 1 passed, 8 failed\n\
                   ✗ b: 1 passed, 1 failed\n\nTotal: 4 passed, 9 failed\n\n\
                   Not scored for 2026-07-28: 2 scenario(s) run, 1 failing.\n  \
                   ✗ tasks-x (extension)\n  ✓ c (pending)\n";
        assert_eq!(
            tally(out),
            Tally {
                scored_failed: 1,
                unscored_failing: vec!["tasks-x".to_owned()]
            }
        );
        assert_eq!(tally("Total: 43 passed, 0 failed").scored_failed, 0);
    }
}
