//! Where the tests find things: the `berth` binary, cargo's scratch
//! directory, the compiled-code cache, and the test plugins, which are
//! built outside the source tree, once for every test binary of a run.
//!
//! The plugins live in the tests' dist directory: `$BERTH_TEST_PLUGINS`
//! when set (`cargo xtask test` builds them there first; the tests then
//! build nothing), else `<target dir>/berth-test-plugins`. Building holds a
//! file lock, `<dist>.lock`, so test binaries running at once build once
//! and the others wait; a stamp file per part records the build, and the
//! part is built again only when a file it is built from is newer.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;
use xtask::plugins;

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("tests/kit lies two levels under the root")
}

/// The directory of the running test binary's profile (`<target>/debug`):
/// test binaries live in its `deps`, the `berth` binary beside it.
fn profile_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        exe.parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| panic!("{} is not in <target>/<profile>/deps", exe.display()))
            .to_owned()
    })
}

/// The cargo target directory the tests were built in.
pub fn target_dir() -> &'static Path {
    profile_dir()
        .parent()
        .expect("the profile directory lies in the target directory")
}

/// The `berth` binary under test (cargo builds it for the integration
/// tests of its package, beside their `deps`).
pub fn berth_bin() -> PathBuf {
    let bin = profile_dir().join(format!("berth{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test -p berth`",
        bin.display()
    );
    bin
}

/// Cargo's scratch directory for tests (`CARGO_TARGET_TMPDIR`).
pub fn tmp_dir() -> PathBuf {
    target_dir().join("tmp")
}

/// The compiled-code cache every test shares: entries are per file
/// version, so sharing is safe; it is not the user's cache.
pub fn cache_dir() -> PathBuf {
    tmp_dir().join("berth-cache")
}

/// The running test binary's crate name (`http` for `http-0123abcd`).
fn binary_name() -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, _hash)) => name.to_owned(),
        None => stem,
    }
}

/// A fresh, empty directory for one test, under cargo's scratch
/// directory, named after the test binary, `name` and this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = tmp_dir().join(format!("{}-{name}-{}", binary_name(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tests' dist directory, and whether someone else built it.
fn dist_dir() -> (PathBuf, bool) {
    match std::env::var_os(plugins::TEST_DIST_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => (PathBuf::from(dir), true),
        None => (plugins::test_dist(target_dir()), false),
    }
}

/// The plugin dist directory (examples at its top, `fixtures/`,
/// `conformance/`, the granted examples), built on first use.
pub fn dist() -> &'static Path {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let (dist, prebuilt) = dist_dir();
        if !prebuilt {
            let inputs = [root().join("plugins"), root().join("wit")];
            once(&dist, "plugins", &inputs, || plugins::build(root(), &dist));
        }
        dist
    })
}

/// The fixtures directory.
pub fn fixtures() -> PathBuf {
    dist().join("fixtures")
}

/// `<dist>/<language>`: the examples in `language`, built with the
/// `berth` under test (`berth build`, in copies) unless up to date.
pub fn language_dist(language: &str) -> PathBuf {
    let (dist, prebuilt) = dist_dir();
    let (_, names) = plugins::LANGUAGE_EXAMPLES
        .iter()
        .find(|(l, _)| *l == language)
        .unwrap_or_else(|| panic!("no examples in {language}"));
    if !prebuilt {
        let examples = root().join("plugins").join("examples");
        let mut inputs: Vec<PathBuf> = names.iter().map(|n| examples.join(n)).collect();
        inputs.extend(berth_build_inputs());
        once(&dist, language, &inputs, || {
            plugins::build_language(
                root(),
                &dist,
                language,
                names,
                &berth_bin(),
                Some(&cache_dir()),
            )
        });
    }
    dist.join(language)
}

/// A copy of the project `source` (relative to the repository, e.g.
/// `plugins/fixtures/probe-py`) built by the `berth` under test, under the
/// tests' dist directory; built again only when its sources (or the SDKs,
/// or berth's build recipes) changed. Returns the built copy.
pub fn built_project(source: &str) -> PathBuf {
    let (dist, _) = dist_dir();
    let name = Path::new(source)
        .file_name()
        .unwrap_or_else(|| panic!("{source} has no name"))
        .to_string_lossy()
        .into_owned();
    let into = dist.join("projects");
    let mut inputs = vec![root().join(source)];
    inputs.extend(berth_build_inputs());
    once(&dist, &format!("project-{name}"), &inputs, || {
        plugins::build_project(
            &berth_bin(),
            &root().join(source),
            &into,
            Some(&cache_dir()),
        )
    });
    into.join(name)
}

/// What every `berth build` depends on besides its project: the SDKs,
/// berth's build recipes, the WIT.
fn berth_build_inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = ["sdk-python", "sdk-js", "sdk-c", "sdk-cpp", "sdk-zig"]
        .iter()
        .map(|sdk| root().join("plugins").join(sdk))
        .collect();
    inputs.push(root().join("host").join("src").join("project"));
    inputs.push(root().join("wit"));
    inputs
}

/// Runs `build` for the part `what` of `dist` unless its stamp is newer
/// than every file under `inputs`; under `<dist>.lock`, so that of test
/// binaries running at once, one builds and the others wait, then find
/// the stamp fresh. A failed build fails the test, with its message.
fn once<T>(dist: &Path, what: &str, inputs: &[PathBuf], build: impl FnOnce() -> Result<T, String>) {
    std::fs::create_dir_all(dist).unwrap();
    let lock_path = dist.with_extension("lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    let stamp = dist.join(format!(".built-{what}"));
    let built_at = std::fs::metadata(&stamp).and_then(|m| m.modified()).ok();
    let stale = match built_at {
        None => true,
        Some(at) => inputs.iter().any(|dir| newer_than(dir, at)),
    };
    if stale {
        let _ = std::fs::remove_file(&stamp);
        if let Err(e) = build() {
            panic!("building the test plugins ({what}): {e}");
        }
        std::fs::write(&stamp, b"").unwrap();
    }
    drop(lock);
}

/// Whether a file under `path` (or `path` itself) was modified after
/// `at`; build output and installed packages are not looked at.
fn newer_than(path: &Path, at: SystemTime) -> bool {
    const SKIPPED: [&str; 6] = [
        "target",
        "dist",
        "node_modules",
        ".berth",
        "__pycache__",
        ".git",
    ];
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_dir() {
        let output = path.extension().is_some_and(|e| e == "wasm");
        return !output && meta.modified().is_ok_and(|m| m > at);
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        !SKIPPED.contains(&name.to_string_lossy().as_ref()) && newer_than(&entry.path(), at)
    })
}
