//! One build recipe per language: which template `berth new` writes and
//! what `berth build` runs. Adding a language is a template under
//! `plugins/templates/<lang>` and an entry in [`LANGUAGES`].

use super::toolchain::{self, Install, Toolchains, run};
use super::{Project, ProjectError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a recipe gets.
pub(super) struct Inputs<'a> {
    /// The project.
    pub project: &'a Project,
    /// The SDK copy (repository layout: `wit/`, `plugins/sdk`, ...).
    pub sdk: &'a Path,
    /// Where toolchains live.
    pub toolchains: &'a Toolchains,
    /// The component to write.
    pub out: &'a Path,
}

/// A language berth can build.
pub struct Language {
    /// Its name in `[build] language` and `berth new --lang`.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// The template directory under `plugins/templates`.
    pub template: &'static str,
    /// Builds the project into `out`.
    pub(super) build: fn(&Inputs<'_>) -> Result<(), ProjectError>,
}

/// Every language berth builds.
pub static LANGUAGES: &[Language] = &[
    Language {
        name: "rust",
        aliases: &["rs"],
        template: "rust",
        build: rust,
    },
    Language {
        name: "python",
        aliases: &["py"],
        template: "python",
        build: python,
    },
    Language {
        name: "js",
        aliases: &["javascript"],
        template: "js",
        build: js,
    },
    Language {
        name: "c",
        aliases: &[],
        template: "c",
        build: super::native::c,
    },
    Language {
        name: "cpp",
        aliases: &["c++"],
        template: "cpp",
        build: super::native::cpp,
    },
    Language {
        name: "zig",
        aliases: &[],
        template: "zig",
        build: super::native::zig,
    },
];

impl Language {
    /// The language called `name` (or one of its aliases).
    ///
    /// # Errors
    /// [`ProjectError::UnknownLanguage`] naming the known ones.
    pub fn find(name: &str) -> Result<&'static Self, ProjectError> {
        let wanted = name.to_ascii_lowercase();
        LANGUAGES
            .iter()
            .find(|l| l.name == wanted || l.aliases.contains(&wanted.as_str()))
            .ok_or_else(|| ProjectError::UnknownLanguage {
                given: name.to_owned(),
                known: LANGUAGES
                    .iter()
                    .map(|l| l.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Points `link` at `target` (a symlink; a copy where there are none).
pub(super) fn link_dir(target: &Path, link: &Path) -> Result<(), ProjectError> {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    match std::fs::symlink_metadata(link) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(link).map_err(ProjectError::io(link))?,
        Ok(_) => std::fs::remove_file(link).map_err(ProjectError::io(link))?,
        Err(_) => {}
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link).map_err(ProjectError::io(link))
    }
    #[cfg(not(unix))]
    {
        copy_tree(target, link)
    }
}

#[cfg(not(unix))]
fn copy_tree(from: &Path, to: &Path) -> Result<(), ProjectError> {
    std::fs::create_dir_all(to).map_err(ProjectError::io(to))?;
    for entry in std::fs::read_dir(from).map_err(ProjectError::io(from))? {
        let entry = entry.map_err(ProjectError::io(from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(ProjectError::io(&src))?;
        }
    }
    Ok(())
}

fn copy_out(built: &Path, out: &Path) -> Result<(), ProjectError> {
    if !built.is_file() {
        return Err(ProjectError::NoOutput(built.to_path_buf()));
    }
    std::fs::copy(built, out)
        .map(|_| ())
        .map_err(ProjectError::io(out))
}

/// Rust: `cargo build --release` for `wasm32-wasip2` (the template's
/// `.cargo/config.toml` names the target), against the SDK copy linked at
/// `.berth/sdk`.
fn rust(inputs: &Inputs<'_>) -> Result<(), ProjectError> {
    let project = inputs.project;
    let cargo_toml = project.dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo_toml).map_err(ProjectError::io(&cargo_toml))?;
    let package = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_owned))
        .ok_or_else(|| ProjectError::BadBuild {
            path: cargo_toml.clone(),
            reason: "Cargo.toml has no [package] name".to_owned(),
        })?;
    wasm_target()?;
    link_dir(inputs.sdk, &project.scratch().join("sdk"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo).current_dir(&project.dir).args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .map(|d| {
            if d.is_absolute() {
                d
            } else {
                project.dir.join(d)
            }
        })
        .unwrap_or_else(|| project.dir.join("target"));
    let built = target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    copy_out(&built, inputs.out)
}

/// Adds the `wasm32-wasip2` target with rustup unless the toolchain has it.
fn wasm_target() -> Result<(), ProjectError> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .ok_or_else(|| {
            ProjectError::Missing(
                "building Rust plugins needs the Rust toolchain (https://rustup.rs)".to_owned(),
            )
        })?;
    if sysroot.join("lib/rustlib/wasm32-wasip2").is_dir() {
        return Ok(());
    }
    if toolchain::find_program(&["rustup"]).is_none() {
        return Err(ProjectError::Missing(
            "this Rust toolchain lacks the wasm32-wasip2 target, and there is no rustup to add it"
                .to_owned(),
        ));
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))
}

/// The entry file of a project, which must exist.
pub(super) fn source(inputs: &Inputs<'_>, default: &str) -> Result<PathBuf, ProjectError> {
    let project = inputs.project;
    let name = project.build.source.as_deref().unwrap_or(default);
    let path = project.dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ProjectError::BadBuild {
            path: project.dir.join(format!("{}.toml", project.name)),
            reason: format!("source {name:?} is not a file in {}", project.dir.display()),
        })
    }
}

/// componentize-py, from PyPI (a self-contained wheel).
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Worlds that add the `wasi:http` client to berth's, so the Python SDK's
/// `berth.http` has bindings; a plugin that makes no request pays about
/// 16 KB. (componentize-py 0.25 cannot merge worlds given as two `-w`.)
const HTTP_WORLDS: &str = concat!(
    "package berth:plugin@",
    crate::plugin::wit_version!(),
    ";

world tools-plugin-http {
    include tools-plugin;
    import wasi:http/outgoing-handler@0.2.12;
}

world plugin-http {
    include plugin;
    import wasi:http/outgoing-handler@0.2.12;
}
"
);

/// Empties (or makes) `dir`.
pub(super) fn reset_dir(dir: &Path) -> Result<(), ProjectError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(ProjectError::io(dir)(e));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(ProjectError::io(dir))
}

/// Makes `to` a fresh copy of the files directly in `from`.
fn fresh_copy(from: &Path, to: &Path) -> Result<(), ProjectError> {
    reset_dir(to)?;
    copy_files(from, to)
}

/// Copies the files directly in `from` into `to` (made if missing).
fn copy_files(from: &Path, to: &Path) -> Result<(), ProjectError> {
    std::fs::create_dir_all(to).map_err(ProjectError::io(to))?;
    for entry in std::fs::read_dir(from).map_err(ProjectError::io(from))? {
        let path = entry.map_err(ProjectError::io(from))?.path();
        if let (true, Some(name)) = (path.is_file(), path.file_name()) {
            let dest = to.join(name);
            std::fs::copy(&path, &dest).map_err(ProjectError::io(&dest))?;
        }
    }
    Ok(())
}

/// Python: componentize-py bundles CPython, the SDK (`berth`) and the
/// project's modules into a component. Its entry module is one berth
/// writes into `.berth/py`: it imports the project's module (whose
/// decorators register the tools) and re-exports the SDK's implementations
/// of the world; the WIT it builds against is berth's plus the `wasi:http`
/// client, in `.berth/wit`.
fn python(inputs: &Inputs<'_>) -> Result<(), ProjectError> {
    let project = inputs.project;
    let source = source(inputs, "app.py")?;
    let module = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tool = inputs.toolchains.ensure(
        "componentize-py-0.25.1",
        &Install::Pip {
            requirement: COMPONENTIZE_PY,
        },
    )?;
    let scratch = project.scratch();
    let wit = scratch.join("wit");
    fresh_copy(&inputs.sdk.join("wit"), &wit)?;
    copy_files(
        &inputs.sdk.join("plugins/wit-deps/wasi-0.2.12"),
        &wit.join("deps"),
    )?;
    let worlds = wit.join("http-worlds.wit");
    std::fs::write(&worlds, HTTP_WORLDS).map_err(ProjectError::io(&worlds))?;
    let py = scratch.join("py");
    std::fs::create_dir_all(&py).map_err(ProjectError::io(&py))?;
    let entry = py.join("berth_entry.py");
    let world = &project.build.world;
    let text = format!(
        "\"\"\"Written by `berth build`: the component's entry module.\"\"\"\n\nimport {module}  # noqa: F401  (its decorators register the plugin)\nfrom berth._exports import Completion, Prompts, Resources, Tools, check_world  # noqa: F401\n\ncheck_world({world:?})\n"
    );
    std::fs::write(&entry, text).map_err(ProjectError::io(&entry))?;
    run(Command::new(toolchain::python()?)
        .current_dir(&project.dir)
        .env("PYTHONPATH", &tool)
        // A failed build shows the Python error, not a Rust stack as well.
        .env("RUST_BACKTRACE", "0")
        .args([
            "-c",
            "import sys; from componentize_py import script; sys.exit(script())",
        ])
        .args(["-q", "-d"])
        .arg(&wit)
        .args([
            "-w",
            &format!("{world}-http"),
            "componentize",
            "berth_entry",
        ])
        .arg("-p")
        .arg(&py)
        .arg("-p")
        .arg(inputs.sdk.join("plugins/sdk-python"))
        .arg("-p")
        .arg(source.parent().unwrap_or(&project.dir))
        .arg("-o")
        .arg(inputs.out))
}

/// JavaScript on QuickJS (componentize-qjs, from npm). The SDK is copied
/// to `node_modules/berth` (a copy: componentize-qjs refuses modules that
/// resolve outside the project), where `import ... from "berth"` and
/// editors find it; the entry module berth writes into `.berth` imports
/// the project's source (which registers the tools) and re-exports the
/// SDK's implementations of the world.
fn js(inputs: &Inputs<'_>) -> Result<(), ProjectError> {
    let project = inputs.project;
    let source = source(inputs, "plugin.js")?;
    let sdk_js = inputs.sdk.join("plugins/sdk-js");
    let read = |file: &str| {
        let path = sdk_js.join("toolchain").join(file);
        std::fs::read(&path).map_err(ProjectError::io(&path))
    };
    let (manifest, lock) = (read("package.json")?, read("package-lock.json")?);
    let tool = inputs.toolchains.ensure(
        "componentize-qjs-0.4.5",
        &Install::Npm {
            manifest: &manifest,
            lock: &lock,
        },
    )?;
    let node = toolchain::find_program(&["node", "nodejs"]).ok_or_else(|| {
        ProjectError::Missing(
            "building JavaScript plugins needs Node.js 18+ on PATH (e.g. `apt-get install nodejs npm`)"
                .to_owned(),
        )
    })?;
    fresh_copy(&sdk_js, &project.dir.join("node_modules/berth"))?;
    let rel = source
        .strip_prefix(&project.dir)
        .unwrap_or(&source)
        .to_string_lossy()
        .replace('\\', "/");
    let import = serde_json::Value::String(format!("../{rel}")).to_string();
    let entry = project.scratch().join("entry.js");
    let text = format!(
        "// Written by `berth build`: the component's entry module.\nimport {import};\nexport {{ tools, resources, prompts, completion }} from \"berth/exports.js\";\n"
    );
    std::fs::write(&entry, text).map_err(ProjectError::io(&entry))?;
    run(Command::new(node)
        .current_dir(&project.dir)
        .arg(tool.join("node_modules/componentize-qjs/bin/componentize-qjs"))
        .arg("--wit")
        .arg(inputs.sdk.join("wit"))
        .args(["--js", ".berth/entry.js", "--module-root", "."])
        .args(["--world", &project.build.world, "--sync", "-o"])
        .arg(inputs.out))
}
