//! Builds the plugin workspace for `wasm32-wasip2` and lays out the
//! directory berth serves (a "dist" directory): examples at its top,
//! fixtures (with their manifests) in `fixtures/`, the conformance plugin in
//! `conformance/`, examples in other languages in `<language>/`. The quick
//! start's dist is `plugins/dist`; the tests' is [`test_dist`], under the
//! build's target directory, so a test run writes nothing into the source
//! tree.
//!
//! Shared by `xtask` and the tests' helper crate (`tests/kit`, through
//! this crate's library), so it uses std only. The nested cargo gets its
//! own target directory, so it never waits on the lock of the cargo that
//! runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Example plugins, served by the quick start.
pub const EXAMPLES: &[&str] = &["hello", "counter", "slow", "notes"];
/// The plugin that serves the official conformance suite's surface, in
/// `plugins/dist/conformance` (its names are the suite's, unprefixed).
pub const CONFORMANCE: &str = "conformance";
/// Plugins built with the SDK's `full` feature (resources, prompts,
/// completion as well as tools).
pub const FULL: &[&str] = &["conformance", "notes"];
/// Plugins built with the SDK's `http` feature (the wasi:http client).
pub const HTTP: &[&str] = &["fetch"];
/// Plugins that misbehave on purpose, for tests.
pub const FIXTURES: &[&str] = &[
    "loop",
    "hog",
    "trap",
    "wrong-world",
    "shapes",
    "hostile",
    "probe",
];
/// Examples that need a grant to be useful, each laid out in its own
/// directory `plugins/dist/<name>` with its manifest and the `data`
/// directory the manifest grants (copied from `plugins/examples/<name>`),
/// so `berth serve --plugins plugins/dist/<name>` works with no setup and
/// the quick start's directory stays as it is. (`fetch` has no `data`.)
pub const GRANTED_EXAMPLES: &[&str] = &["files", "fetch"];

/// Example projects in other languages, per language: built by
/// `berth build` (so they need a `berth` binary) into
/// `plugins/dist/<language>/`, each with its manifest.
pub const LANGUAGE_EXAMPLES: &[(&str, &[&str])] = &[
    ("python", &["hello-py", "counter-py", "fetch-py"]),
    ("js", &["hello-js", "counter-js"]),
    ("c", &["hello-c", "counter-c"]),
    ("cpp", &["hello-cpp", "counter-cpp"]),
    ("zig", &["hello-zig", "counter-zig"]),
];

/// The environment variable naming a dist directory already built for the
/// tests (`cargo xtask test` sets it): the tests then build nothing.
pub const TEST_DIST_ENV: &str = "BERTH_TEST_PLUGINS";

/// The tests' dist directory for the host build in `target` (a cargo
/// target directory): `<target>/berth-test-plugins`.
pub fn test_dist(target: &Path) -> PathBuf {
    target.join("berth-test-plugins")
}

/// The quick start's dist directory, `plugins/dist`.
pub fn source_dist(root: &Path) -> PathBuf {
    root.join("plugins").join("dist")
}

/// Builds the [`LANGUAGE_EXAMPLES`] with `berth` (its `build` command, which
/// installs pinned toolchains on first use) and lays them out in
/// `<dist>/<language>/`. `cache`: the compiled-code cache the build
/// fills (berth's default if `None`), so the berth that serves them next
/// does not compile them again. Returns the dist directory.
pub fn build_languages(
    root: &Path,
    dist: &Path,
    berth: &Path,
    cache: Option<&Path>,
) -> Result<PathBuf, String> {
    for (language, names) in LANGUAGE_EXAMPLES {
        build_language(root, dist, language, names, berth, cache)?;
    }
    Ok(dist.to_owned())
}

/// [`build_languages`] for one `language` and its example `names`: each
/// built in a copy under `<dist>/.build/`, laid out in `<dist>/<language>/`.
pub fn build_language(
    root: &Path,
    dist: &Path,
    language: &str,
    names: &[&str],
    berth: &Path,
    cache: Option<&Path>,
) -> Result<(), String> {
    let out = dist.join(language);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for name in names {
        let source = root.join("plugins").join("examples").join(name);
        let built = build_project(berth, &source, &dist.join(".build"), cache)?;
        for ext in ["wasm", "toml"] {
            let file = format!("{name}.{ext}");
            std::fs::copy(built.join(&file), out.join(&file))
                .map_err(|e| format!("copy {file}: {e}"))?;
        }
    }
    Ok(())
}

/// Copies the project `source` into `<into>/<its name>` (leaving out what
/// a build writes; what an earlier build there wrote stays, so installed
/// packages are reused) and builds the copy with `berth build`, so the
/// source tree gets nothing. Returns the copy, holding `<name>.wasm`.
pub fn build_project(
    berth: &Path,
    source: &Path,
    into: &Path,
    cache: Option<&Path>,
) -> Result<PathBuf, String> {
    let name = source
        .file_name()
        .ok_or_else(|| format!("{} has no name", source.display()))?;
    let copy = into.join(name);
    copy_project(source, &copy)?;
    let mut cmd = Command::new(berth);
    if let Some(cache) = cache {
        cmd.env("BERTH_CACHE_DIR", cache);
    }
    let status = cmd
        .arg("build")
        .arg(&copy)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", berth.display()))?;
    if !status.success() {
        return Err(format!(
            "berth build {} (a copy of {}) failed ({status})",
            copy.display(),
            source.display()
        ));
    }
    Ok(copy)
}

/// Copies a project's sources from `from` into `to`, leaving out what a
/// build writes (`.berth`, `node_modules`, `__pycache__`, `*.wasm`).
pub fn copy_project(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if [".berth", "node_modules", "__pycache__"].contains(&name.as_ref())
            || name.ends_with(".wasm")
        {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&*name));
        if src.is_dir() {
            copy_project(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// The plugin build's target directory: `$BERTH_PLUGINS_TARGET_DIR`, else
/// `~/.cache/berth/plugins-target` (shared by clones, like the host's), else
/// `plugins/target` in the repository.
pub fn target_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_PLUGINS_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/berth/plugins-target"),
        None => root.join("plugins").join("target"),
    }
}

/// The `clippy-driver` of the toolchain in use (rustup's proxy if rustup
/// cannot say).
pub fn clippy_driver() -> String {
    Command::new("rustup")
        .args(["which", "clippy-driver"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "clippy-driver".to_owned())
}

/// Cargo settings that compile workspace crates with clippy, lints as
/// errors: one build gives both the code and the lint verdict.
pub fn clippy_env() -> [(&'static str, String); 2] {
    [
        ("RUSTC_WORKSPACE_WRAPPER", clippy_driver()),
        (
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__".to_owned(),
        ),
    ]
}

/// Builds every plugin (release) and lays them out in `dist`. Returns the
/// dist directory. Settings of the caller's environment (such as a clippy
/// wrapper set by `cargo xtask test`) carry over.
pub fn build(root: &Path, dist: &Path) -> Result<PathBuf, String> {
    build_with(root, dist, &[])
}

/// [`build`], with every plugin crate linted by clippy (warnings fail).
pub fn build_linted(root: &Path, dist: &Path) -> Result<PathBuf, String> {
    build_with(root, dist, &clippy_env())
}

fn build_with(root: &Path, dist: &Path, env: &[(&str, String)]) -> Result<PathBuf, String> {
    let plugins = root.join("plugins");
    let target = target_dir(root);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // Plugins that serve more than tools enable the SDK's `full` feature,
    // and `fetch` its `http` feature; built together with the others, cargo
    // would enable them for all (features unify within one build), so each
    // group builds on its own.
    let mut tools_only = vec!["--workspace".to_owned()];
    let mut full = Vec::new();
    let mut http = Vec::new();
    for (group, names) in [(&mut full, FULL), (&mut http, HTTP)] {
        for name in names {
            tools_only.extend(["--exclude".to_owned(), (*name).to_owned()]);
            group.extend(["-p".to_owned(), (*name).to_owned()]);
        }
    }
    for packages in [tools_only, full, http] {
        let status = Command::new(&cargo)
            .current_dir(&plugins)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target)
            .args(&packages)
            // Settings of an outer cargo must not leak into the nested build.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building the plugins failed ({status})"));
        }
    }
    let built = target.join("wasm32-wasip2").join("release");
    let fixtures = dist.join("fixtures");
    std::fs::create_dir_all(&fixtures).map_err(|e| format!("{}: {e}", fixtures.display()))?;
    let copy = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to)
            .map(|_| ())
            .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
    };
    for name in EXAMPLES {
        copy(
            built.join(format!("{name}.wasm")),
            dist.join(format!("{name}.wasm")),
        )?;
    }
    let suite = dist.join(CONFORMANCE);
    std::fs::create_dir_all(&suite).map_err(|e| format!("{}: {e}", suite.display()))?;
    copy(
        built.join(format!("{CONFORMANCE}.wasm")),
        suite.join(format!("{CONFORMANCE}.wasm")),
    )?;
    copy(
        plugins
            .join("examples")
            .join(CONFORMANCE)
            .join(format!("{CONFORMANCE}.toml")),
        suite.join(format!("{CONFORMANCE}.toml")),
    )?;
    for name in GRANTED_EXAMPLES {
        let source = plugins.join("examples").join(name);
        let own = dist.join(name);
        std::fs::create_dir_all(&own).map_err(|e| format!("{}: {e}", own.display()))?;
        copy(
            built.join(format!("{name}.wasm")),
            own.join(format!("{name}.wasm")),
        )?;
        copy(
            source.join(format!("{name}.toml")),
            own.join(format!("{name}.toml")),
        )?;
        if source.join("data").is_dir() {
            copy_tree(&source.join("data"), &own.join("data"))?;
        }
    }
    for name in FIXTURES {
        copy(
            built.join(format!("{name}.wasm")),
            fixtures.join(format!("{name}.wasm")),
        )?;
        let manifest = plugins
            .join("fixtures")
            .join(name)
            .join(format!("{name}.toml"));
        if manifest.exists() {
            copy(manifest, fixtures.join(format!("{name}.toml")))?;
        }
    }
    Ok(dist.to_owned())
}

/// Copies the files and directories under `from` into `to` (files that
/// exist are overwritten; nothing is removed).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}
