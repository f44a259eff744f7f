//! Recipes for plugins in C, C++ and Zig.
//!
//! All three share one pipeline, and berth runs every step but the
//! compiler itself: C bindings of the WIT world, generated in process with
//! `wit-bindgen-c` into `.berth/gen` (renamed `bindings`, so the helpers
//! include the same header whatever the world); the helper library of
//! `plugins/sdk-c` (`berth.h` and every `.c` file there), which implements the exports
//! over the plugin's table of tools and owns every canonical-ABI buffer;
//! a compiler that makes a core module for `wasm32-wasi` (Debian's
//! clang-19 with its wasm32 libraries for C and C++, installed with apt on
//! first use; Zig from PyPI); and `wit-component`, which turns the core
//! module into the component, with the WASI preview 1 adapter of wasmtime
//! 48 when the module imports WASI.
//!
//! The helpers serve the `tools-plugin` world only.

use super::recipe::{Inputs, reset_dir};
use super::toolchain::{self, Install, run};
use super::{Project, ProjectError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The name generated bindings get (`bindings.h`, `bindings_string_t`).
const BINDINGS: &str = "bindings";

/// Where the C helpers are, in the SDK copy.
const SDK_C: &str = "plugins/sdk-c";

/// Debian's clang and the wasm32 libraries it needs, each with a file it
/// installs (to tell whether it is there).
const CLANG_PACKAGES: &[(&str, &str)] = &[
    ("clang-19", "/usr/bin/clang-19"),
    ("lld-19", "/usr/lib/llvm-19/bin/wasm-ld"),
    ("wasi-libc", "/usr/lib/wasm32-wasi/libc.a"),
    (
        "libclang-rt-19-dev-wasm32",
        "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a",
    ),
];

/// What C++ needs on top of [`CLANG_PACKAGES`].
const CPP_PACKAGES: &[(&str, &str)] = &[
    ("libc++-19-dev-wasm32", "/usr/lib/wasm32-wasi/libc++.a"),
    (
        "libc++abi-19-dev-wasm32",
        "/usr/lib/wasm32-wasi/libc++abi.a",
    ),
];

/// Flags every clang compile gets: the WASI target, small code.
const COMPILE_FLAGS: &[&str] = &["--target=wasm32-wasi", "-Os"];

/// Flags every clang link gets: a library (no `main`), no debug info
/// (Debian's libc carries some).
const LINK_FLAGS: &[&str] = &["-mexec-model=reactor", "-Wl,--strip-debug"];

/// C: clang-19 compiles the project's `.c` files with the helpers and the
/// bindings.
pub(super) fn c(inputs: &Inputs<'_>) -> Result<(), ProjectError> {
    check_world(inputs.project)?;
    inputs.toolchains.system("C", CLANG_PACKAGES)?;
    let project = inputs.project;
    let gen_dir = bindings(inputs)?;
    let sdk = inputs.sdk.join(SDK_C);
    let sources = project_sources(project, &["c"])?;
    let core = core_path(project);
    run(Command::new("clang-19")
        .current_dir(&project.dir)
        .args(COMPILE_FLAGS)
        .args(LINK_FLAGS)
        .args(["-std=c11", "-Wall"])
        .args(includes(project, &sdk, &gen_dir))
        .arg("-o")
        .arg(&core)
        .args(&sources)
        .args(list_files(&sdk, &["c"])?)
        .args(generated(&gen_dir)))?;
    componentize(&core, inputs.out)
}

/// C++ (C++20, no exceptions): clang++-19 compiles the project's sources;
/// the helpers and bindings are compiled as C first.
pub(super) fn cpp(inputs: &Inputs<'_>) -> Result<(), ProjectError> {
    check_world(inputs.project)?;
    inputs.toolchains.system("C", CLANG_PACKAGES)?;
    inputs.toolchains.system("C++", CPP_PACKAGES)?;
    let project = inputs.project;
    let gen_dir = bindings(inputs)?;
    let sdk = inputs.sdk.join(SDK_C);
    let sources = project_sources(project, &["cpp", "cc", "cxx", "c"])?;
    let (c_files, cpp_files): (Vec<_>, Vec<_>) = sources
        .into_iter()
        .partition(|p| p.extension().is_some_and(|e| e == "c"));
    let objects = project.scratch().join("obj");
    reset_dir(&objects)?;
    let [glue, component_type] = generated(&gen_dir);
    run(Command::new("clang-19")
        .current_dir(&objects)
        .args(COMPILE_FLAGS)
        .args(["-std=c11", "-c"])
        .args(includes(project, &sdk, &gen_dir))
        .args(list_files(&sdk, &["c"])?)
        .arg(glue)
        .args(&c_files))?;
    let mut linked = list_files(&objects, &["o"])?;
    linked.push(component_type);
    let core = core_path(project);
    run(Command::new("clang++-19")
        .current_dir(&project.dir)
        .args(COMPILE_FLAGS)
        .args(LINK_FLAGS)
        .args(["-std=c++20", "-fno-exceptions", "-Wall"])
        .args(includes(project, &sdk, &gen_dir))
        .arg(format!(
            "-I{}",
            inputs.sdk.join("plugins/sdk-cpp").display()
        ))
        .arg("-o")
        .arg(&core)
        .args(&cpp_files)
        .args(&linked))?;
    componentize(&core, inputs.out)
}

/// ziglang from PyPI (the Zig compiler with its own clang and wasi-libc).
const ZIGLANG: &str = "ziglang==0.17.1";

/// Zig: `zig build-exe` compiles the project's root file (`source`,
/// default `plugin.zig`), which imports the module `berth`
/// (`plugins/sdk-zig/berth.zig`), with the C helpers and bindings.
pub(super) fn zig(inputs: &Inputs<'_>) -> Result<(), ProjectError> {
    let project = inputs.project;
    check_world(project)?;
    let root = super::recipe::source(inputs, "plugin.zig")?;
    let python = toolchain::python().map_err(|_| {
        ProjectError::Missing(
            "building Zig plugins needs Python 3 with pip on PATH: berth fetches Zig from PyPI (e.g. `apt-get install python3 python3-pip`)".to_owned(),
        )
    })?;
    let tool = inputs.toolchains.ensure(
        "ziglang-0.17.1",
        &Install::Pip {
            requirement: ZIGLANG,
        },
    )?;
    let gen_dir = bindings(inputs)?;
    let sdk = inputs.sdk.join(SDK_C);
    let [glue, component_type] = generated(&gen_dir);
    let core = core_path(project);
    let scratch = project.scratch();
    run(Command::new(python)
        .current_dir(&project.dir)
        .env("PYTHONPATH", &tool)
        // Zig's cache of wasi-libc and compiled C, kept with the toolchain.
        .env("ZIG_GLOBAL_CACHE_DIR", tool.join("cache"))
        .env("ZIG_LOCAL_CACHE_DIR", scratch.join("zig-cache"))
        .args(["-m", "ziglang", "build-exe"])
        .args(["-target", "wasm32-wasi", "-O", "ReleaseSmall", "-lc"])
        .args(["-fno-entry", "-mexec-model=reactor"])
        // Keeps function names for backtraces (the DWARF that comes with
        // them is stripped when the component is made).
        .arg("-fno-strip")
        .arg(format!("-I{}", sdk.display()))
        .arg(format!("-I{}", gen_dir.display()))
        .arg("-cflags")
        .args(["-std=c11", "-Os", "--"])
        .args(list_files(&sdk, &["c"])?)
        .arg(glue)
        .arg(component_type)
        .arg("--dep")
        .arg("berth")
        .arg(format!("-Mroot={}", root.display()))
        .arg(format!(
            "-Mberth={}",
            inputs.sdk.join("plugins/sdk-zig/berth.zig").display()
        ))
        .arg(format!("-femit-bin={}", core.display())))?;
    componentize(&core, inputs.out)
}

/// Refuses worlds the helpers do not serve (before any toolchain install).
fn check_world(project: &Project) -> Result<(), ProjectError> {
    if project.build.world == "tools-plugin" {
        return Ok(());
    }
    Err(ProjectError::BadBuild {
        path: project.dir.join(format!("{}.toml", project.name)),
        reason: format!(
            "world {:?}: the {} helpers serve tools only; use world \"tools-plugin\" (the default)",
            project.build.world, project.build.language
        ),
    })
}

/// The core module a compiler writes.
fn core_path(project: &Project) -> PathBuf {
    project
        .scratch()
        .join(format!("{}.core.wasm", project.name))
}

/// `-I` flags: the project, the helpers, the bindings.
fn includes(project: &Project, sdk: &Path, gen_dir: &Path) -> Vec<String> {
    [project.dir.as_path(), sdk, gen_dir]
        .iter()
        .map(|d| format!("-I{}", d.display()))
        .collect()
}

/// The generated C file and component-type object in `gen_dir`.
fn generated(gen_dir: &Path) -> [PathBuf; 2] {
    [
        gen_dir.join(format!("{BINDINGS}.c")),
        gen_dir.join(format!("{BINDINGS}_component_type.o")),
    ]
}

/// Files in `dir` (not below) with one of `extensions`, sorted.
fn list_files(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, ProjectError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(ProjectError::io(dir))? {
        let path = entry.map_err(ProjectError::io(dir))?.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if wanted && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// The project's sources: files with one of `extensions` in its directory
/// and in `src/` (when there is one).
fn project_sources(project: &Project, extensions: &[&str]) -> Result<Vec<PathBuf>, ProjectError> {
    let mut sources = list_files(&project.dir, extensions)?;
    let src = project.dir.join("src");
    if src.is_dir() {
        sources.extend(list_files(&src, extensions)?);
    }
    if sources.is_empty() {
        return Err(ProjectError::BadBuild {
            path: project.dir.join(format!("{}.toml", project.name)),
            reason: format!(
                "no source files (*.{}) in {}",
                extensions.join(", *."),
                project.dir.display()
            ),
        });
    }
    Ok(sources)
}

/// Generates the C bindings of the project's world into `.berth/gen`;
/// returns that directory.
fn bindings(inputs: &Inputs<'_>) -> Result<PathBuf, ProjectError> {
    let project = inputs.project;
    let step = |detail: anyhow::Error| ProjectError::Step {
        step: "generating the C bindings",
        detail: format!("{detail:#}"),
    };
    // Editors find the helpers' headers here (the templates'
    // compile_flags.txt point at it).
    super::recipe::link_dir(inputs.sdk, &project.scratch().join("sdk"))?;
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(inputs.sdk.join("wit")).map_err(step)?;
    let world = resolve
        .select_world(&[package], Some(&project.build.world))
        .map_err(step)?;
    let mut files = wit_bindgen_core::Files::default();
    let opts = wit_bindgen_c::Opts {
        rename_world: Some(BINDINGS.to_owned()),
        ..Default::default()
    };
    opts.build()
        .generate(&mut resolve, world, &mut files)
        .map_err(step)?;
    let dir = project.scratch().join("gen");
    reset_dir(&dir)?;
    for (name, bytes) in files.iter() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(ProjectError::io(&path))?;
    }
    Ok(dir)
}

/// Turns the core module at `core` into the component at `out`, adapting
/// WASI preview 1 imports (if any) to preview 2.
fn componentize(core: &Path, out: &Path) -> Result<(), ProjectError> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    let module = std::fs::read(core).map_err(|_| ProjectError::NoOutput(core.to_path_buf()))?;
    let module = strip_debug(&module).unwrap_or(module);
    let step = |detail: anyhow::Error| ProjectError::Step {
        step: "making the component",
        detail: format!("{detail:#}"),
    };
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .map_err(step)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(step)?
        .encode()
        .map_err(step)?;
    std::fs::write(out, component).map_err(ProjectError::io(out))
}

/// `module` without its DWARF (`.debug_*` custom sections), keeping the
/// name section that makes a trap's backtrace readable; `None` if it is not
/// a well-formed module (the encoder then says what is wrong).
fn strip_debug(module: &[u8]) -> Option<Vec<u8>> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    }
    let mut out = module.get(..8)?.to_vec();
    let mut at = 8;
    while at < module.len() {
        let start = at;
        let id = module[at];
        at += 1;
        let size = leb(module, &mut at)?;
        let end = at.checked_add(size)?;
        let contents = module.get(at..end)?;
        let debug = id == 0 && {
            let mut name_at = 0;
            let len = leb(contents, &mut name_at)?;
            contents
                .get(name_at..name_at.checked_add(len)?)?
                .starts_with(b".debug")
        };
        if !debug {
            out.extend_from_slice(&module[start..end]);
        }
        at = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn custom(name: &str, body: &[u8]) -> Vec<u8> {
        let mut contents = vec![u8::try_from(name.len()).unwrap()];
        contents.extend_from_slice(name.as_bytes());
        contents.extend_from_slice(body);
        let mut section = vec![0, u8::try_from(contents.len()).unwrap()];
        section.extend(contents);
        section
    }

    #[test]
    fn debug_sections_are_stripped_and_names_kept() {
        let header = b"\0asm\x01\0\0\0".to_vec();
        let types = vec![1, 1, 0]; // a type section with no types
        let name = custom("name", b"\x01\x02");
        let mut module = header.clone();
        module.extend(custom(".debug_info", &[7; 100]));
        module.extend(&types);
        module.extend(&name);
        module.extend(custom(".debug_line", b"x"));
        let mut expected = header;
        expected.extend(&types);
        expected.extend(&name);
        assert_eq!(strip_debug(&module).unwrap(), expected);
        assert_eq!(strip_debug(&expected).unwrap(), expected);
        // A truncated module is left to the encoder to report.
        assert!(strip_debug(&module[..module.len() - 1]).is_none());
    }
}
