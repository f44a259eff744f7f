//! `cargo xtask`: build, serve and test berth with nothing but cargo.
//!
//! - `cargo xtask up`: installs the wasm32-wasip2 target, builds the host
//!   and the example plugins, and serves them over HTTP on 127.0.0.1:8080
//!   (extra arguments go to `berth serve`, e.g. `--http 127.0.0.1:9000`).
//! - `cargo xtask test`: the whole test suite: formatting, lints (host and
//!   plugins), unit and end-to-end tests, and the official MCP conformance
//!   suite (npm) against berth in both protocol eras.
//! - `cargo xtask plugins`: builds the plugins into `plugins/dist`.
//! - `cargo xtask bench`: runs the benchmarks.
//! - `cargo xtask release`: builds berth with profile-guided optimisation
//!   (see `pgo.rs`) and prints where the binary is.
//! - `cargo xtask fuzz [--secs N]`: fuzzes berth over stdio and HTTP for N
//!   seconds each (`tests/fuzz.rs`).
//!
//! Build output goes to `$CARGO_TARGET_DIR` if set, else
//! `~/.cache/berth/target`, so a fresh clone reuses earlier builds.

mod conformance;
mod pgo;
mod served;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::plugins;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives in the repository")?
        .to_owned();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest: Vec<String> = args.iter().skip(1).cloned().collect();
    match args.first().map(String::as_str) {
        Some("up") => up(&root, &rest),
        Some("test") => test(&root),
        Some("plugins") => build_plugins(&root).and_then(|_| {
            // Examples in other languages are built by `berth build`.
            build_languages(&root).map(|_| ())
        }),
        Some("bench") => bench(&root, &rest),
        Some("release") => release(&root),
        Some("fuzz") => fuzz(&root, &rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <up [berth serve args] | test | plugins | bench | release | fuzz [--secs N]>"
            );
            bail!("unknown or missing command")
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("+ {cmd:?}");
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// Where host build output goes unless the caller chose.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache").join("berth").join("target")
}

fn host_cargo(root: &Path) -> Command {
    let mut cmd = cargo();
    cmd.current_dir(root).env("CARGO_TARGET_DIR", target_dir());
    cmd
}

fn wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32-wasip2 target")?;
    if !String::from_utf8_lossy(&installed.stdout).contains("wasm32-wasip2") {
        run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    Ok(())
}

fn build_plugins(root: &Path) -> Result<PathBuf> {
    wasm_target()?;
    let dist = plugins::build(root, &plugins::source_dist(root)).map_err(anyhow::Error::msg)?;
    eprintln!("plugins built into {}", dist.display());
    Ok(dist)
}

/// Builds berth (the dev profile) and with it the examples in other
/// languages (`berth build`); returns the berth binary.
fn build_languages(root: &Path) -> Result<PathBuf> {
    run(host_cargo(root).args(["build", "-p", "berth", "--bin", "berth"]))?;
    let berth = target_dir().join("debug").join("berth");
    plugins::build_languages(root, &plugins::source_dist(root), &berth, None)
        .map_err(anyhow::Error::msg)?;
    Ok(berth)
}

fn up(root: &Path, serve_args: &[String]) -> Result<()> {
    let dist = build_plugins(root)?;
    // The dev profile (dependencies optimised, no LTO) compiles in a few
    // minutes and shares its dependencies with `cargo xtask test`; the fully
    // optimised build is `cargo xtask release` or `cargo install --path host`.
    let berth = build_languages(root)?;
    let mut cmd = Command::new(&berth);
    cmd.arg("serve");
    // Plugin directories given by the caller replace the examples.
    if !serve_args
        .iter()
        .any(|a| a == "--plugins" || a.starts_with("--plugins="))
    {
        cmd.arg("--plugins").arg(&dist);
    }
    let transport_given = serve_args
        .iter()
        .any(|a| a == "--stdio" || a == "--http" || a.starts_with("--http="));
    if !transport_given {
        cmd.args(["--http", "127.0.0.1:8080"]);
        eprintln!(
            "serving at http://127.0.0.1:8080/mcp (Ctrl-C stops); \
             for stdio clients the command is `{} serve --stdio --plugins {}`",
            berth.display(),
            dist.display()
        );
    }
    cmd.args(serve_args);
    run(&mut cmd)
}

/// `clippy-driver` as cargo's workspace wrapper: workspace crates are
/// compiled by clippy (lints as errors) and code generated as usual, so
/// one build serves both the lints and the tests.
fn with_clippy(cmd: &mut Command) -> &mut Command {
    cmd.envs(plugins::clippy_env())
}

/// One step of `cargo xtask test` and how it ended.
struct Step {
    name: &'static str,
    outcome: Outcome,
}

enum Outcome {
    Passed(String),
    Failed(String),
    Skipped,
}

fn test(root: &Path) -> Result<()> {
    wasm_target()?;
    let mut steps = Vec::new();
    let mut record = |name: &'static str, result: Result<String>| {
        let ok = result.is_ok();
        let outcome = match result {
            Ok(detail) => Outcome::Passed(detail),
            Err(e) => {
                eprintln!("step {name} failed: {e:#}");
                Outcome::Failed(format!("{e:#}"))
            }
        };
        steps.push(Step { name, outcome });
        ok
    };
    let format = (|| {
        for dir in [root.to_owned(), root.join("plugins"), root.join("bench")] {
            run(cargo().current_dir(dir).args(["fmt", "--all", "--check"]))?;
        }
        Ok(String::new())
    })();
    record("format", format);
    // The tests' plugins, built once here, outside the source tree; the
    // tests find them through `BERTH_TEST_PLUGINS` and build nothing.
    let dist = plugins::test_dist(&target_dir());
    let plugins_ok = record(
        "plugins",
        plugins::build_linted(root, &dist)
            .map(|_| "built, clippy clean".to_owned())
            .map_err(anyhow::Error::msg),
    );
    // Builds every host target once, linted; `cargo test` below runs them
    // with the same settings, so nothing is compiled twice.
    let host_ok = plugins_ok
        && record(
            "host",
            run(with_clippy(&mut host_cargo(root)).args([
                "test",
                "--workspace",
                "--all-targets",
                "--no-run",
            ]))
            .map(|()| "built, clippy clean".to_owned()),
        );
    if host_ok {
        let berth = target_dir().join("debug").join("berth");
        record(
            "languages",
            // Into the compiled-code cache the tests use (tests/kit).
            plugins::build_languages(
                root,
                &dist,
                &berth,
                Some(&target_dir().join("tmp").join("berth-cache")),
            )
            .map_err(anyhow::Error::msg)
            .and_then(|_| python_sdk_tests(root))
            .map(|()| "examples built with berth build; Python SDK unit tests pass".to_owned()),
        );
        record(
            "tests",
            run(with_clippy(&mut host_cargo(root))
                .env(plugins::TEST_DIST_ENV, &dist)
                .args(["test", "--workspace"]))
            .map(|()| String::new()),
        );
        record("conformance", conformance::run(root, &berth, &dist));
    } else {
        for name in ["host", "languages", "tests", "conformance"] {
            if !steps.iter().any(|s| s.name == name) {
                steps.push(Step {
                    name,
                    outcome: Outcome::Skipped,
                });
            }
        }
    }
    verdict(&steps)
}

/// The Python SDK's unit tests, in plain CPython, against bindings from
/// the componentize-py that `berth build` installed. A skipped test fails
/// the step: here the toolchain must be there.
fn python_sdk_tests(root: &Path) -> Result<()> {
    // Where `berth build` put it: berth's own rule (`Toolchains::from_env`
    // and `config::cache_root`), which xtask cannot call without building
    // berth's dependencies first.
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let home = env("BERTH_HOME")
        .map(PathBuf::from)
        .or_else(|| env("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("berth")))
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache/berth")))
        .context("no HOME")?;
    let out = Command::new("python3")
        .current_dir(root)
        .env(
            "COMPONENTIZE_PY_PATH",
            home.join("toolchains/componentize-py-0.25.1"),
        )
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "plugins/sdk-python/tests",
        ])
        .output()
        .context("running python3")?;
    let report = String::from_utf8_lossy(&out.stderr);
    eprint!("{report}");
    if !out.status.success() {
        bail!("Python SDK unit tests failed");
    }
    if report.contains("skipped") {
        bail!("Python SDK unit tests were skipped: componentize-py is missing");
    }
    Ok(())
}

/// Prints one line with every step's outcome; fails if any step did.
fn verdict(steps: &[Step]) -> Result<()> {
    let failed = steps
        .iter()
        .any(|s| !matches!(s.outcome, Outcome::Passed(_)));
    let parts: Vec<String> = steps
        .iter()
        .map(|s| match &s.outcome {
            Outcome::Passed(d) if d.is_empty() => format!("{} passed", s.name),
            Outcome::Passed(d) => format!("{} passed ({d})", s.name),
            Outcome::Failed(why) => {
                let first = why.lines().next().unwrap_or_default();
                let short: String = first.chars().take(100).collect();
                format!("{} FAILED ({short})", s.name)
            }
            Outcome::Skipped => format!("{} skipped", s.name),
        })
        .collect();
    let word = if failed { "FAILED" } else { "passed" };
    eprintln!("\nberth test {word}: {}", parts.join("; "));
    if failed {
        bail!("the test suite failed")
    }
    Ok(())
}

/// `cargo xtask bench [FILTER]` runs the hot-path benchmarks;
/// `cargo xtask bench languages [LANG...]` the per-language ones.
fn bench(root: &Path, args: &[String]) -> Result<()> {
    build_plugins(root)?;
    if args.first().map(String::as_str) == Some("languages") {
        build_languages(root)?;
        return run(host_cargo(root)
            .args(["bench", "-p", "berth", "--bench", "languages", "--"])
            .args(&args[1..]));
    }
    run(host_cargo(root)
        .args(["bench", "-p", "berth", "--bench", "runtime"])
        .args(args))
}

/// Fuzzes berth over stdio and HTTP for `--secs N` seconds each (default
/// 60): the suite's `fuzz` test, unbounded in count, bounded in time.
fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    let secs = match args {
        [] => 60,
        [flag, n] if flag == "--secs" => n.parse().context("--secs takes a number")?,
        _ => bail!("usage: cargo xtask fuzz [--secs N]"),
    };
    wasm_target()?;
    run(with_clippy(&mut host_cargo(root))
        .env("BERTH_FUZZ_SECS", secs.to_string())
        .args([
            "test",
            "-p",
            "berth",
            "--test",
            "fuzz",
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ]))
}

fn release(root: &Path) -> Result<()> {
    let dist = build_plugins(root)?;
    let berth = pgo::release(root, &target_dir(), &dist)?;
    eprintln!(
        "berth built with profile-guided optimisation: {}\n\
         serve with `{} serve --http 127.0.0.1:8080 --plugins {}`",
        berth.display(),
        berth.display(),
        dist.display()
    );
    Ok(())
}
