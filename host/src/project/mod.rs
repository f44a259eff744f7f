//! Plugin projects: `berth new` writes one from a language's template,
//! `berth build` turns one into a component.
//!
//! A project is a directory with a manifest `<name>.toml` whose `[build]`
//! table names the language (and, for some, the source file and world);
//! the build writes `<name>.wasm` beside it, so the directory is served as
//! it is (`berth serve --plugins DIR`). Scratch files go in `DIR/.berth`.
//! Each language is a template under `plugins/templates/<lang>` (embedded
//! in berth) and a recipe in `recipe`; toolchains are pinned and fetched
//! on first use into `~/.cache/berth/toolchains` (`toolchain`).
//!
//! This module is authoring, not serving: it must not import `protocol`,
//! `transport`, `session`, `auth` or `kv`, and nothing that serves imports
//! it.

mod embedded;
mod native;
mod recipe;
mod toolchain;

pub use recipe::{LANGUAGES, Language};
pub use toolchain::Toolchains;

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a project could not be created or built.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The name cannot be a plugin's name.
    #[error(
        "{0:?} cannot name a plugin: use 1-64 lowercase ASCII letters, digits, '-' and '_', starting with a letter"
    )]
    BadName(String),
    /// No recipe for this language.
    #[error("berth cannot build {given:?} plugins; it knows {known}")]
    UnknownLanguage {
        /// What the project or the user asked for.
        given: String,
        /// The languages berth knows, comma-separated.
        known: String,
    },
    /// `berth new` would overwrite something.
    #[error("{0} already exists; pick another name or remove it")]
    Exists(PathBuf),
    /// No manifest with a `[build]` table in the directory.
    #[error(
        "{0} is not a plugin project: no <name>.toml with a [build] table (make one with `berth new --lang LANG NAME`)"
    )]
    NotAProject(PathBuf),
    /// Several manifests with a `[build]` table.
    #[error("{dir} has several manifests with a [build] table ({names}); keep one")]
    Ambiguous {
        /// The project directory.
        dir: PathBuf,
        /// Their file names.
        names: String,
    },
    /// The `[build]` table is invalid.
    #[error("{path}: [build] {reason}")]
    BadBuild {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A tool the build needs is missing and berth cannot install it.
    #[error("{0}")]
    Missing(String),
    /// A toolchain could not be installed.
    #[error("installing {what} failed: {detail}")]
    Install {
        /// The toolchain.
        what: String,
        /// Its installer's exit status or error.
        detail: String,
    },
    /// The language's build command failed (its own output went to stderr).
    #[error("{command} failed ({status}); its output is above")]
    Failed {
        /// The command, as a user would type it.
        command: String,
        /// Exit status or error.
        status: String,
    },
    /// A build step berth runs itself (WIT bindings, making the component)
    /// failed.
    #[error("{step} failed: {detail}")]
    Step {
        /// The step, e.g. "making the component".
        step: &'static str,
        /// The cause.
        detail: String,
    },
    /// The build ran but left no component where expected.
    #[error("the build made no {0}")]
    NoOutput(PathBuf),
}

impl ProjectError {
    /// Maps an I/O error on `path`.
    pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The `[build]` table of a project's manifest.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// `rust`, `python`, `js`, ...
    pub language: String,
    /// The entry file, for languages that have one (e.g. `app.py`).
    pub source: Option<String>,
    /// The WIT world: `tools-plugin` (default) or `plugin`.
    #[serde(default = "default_world")]
    pub world: String,
}

fn default_world() -> String {
    "tools-plugin".to_owned()
}

#[derive(Deserialize)]
struct ManifestBuild {
    build: Option<BuildSpec>,
}

/// A plugin project on disk.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its directory.
    pub dir: PathBuf,
    /// The plugin's name: the manifest's file stem, and the `.wasm`'s.
    pub name: String,
    /// How it builds.
    pub build: BuildSpec,
}

impl Project {
    /// Reads the project in `dir`: the one `*.toml` there with a `[build]`
    /// table.
    ///
    /// # Errors
    /// [`ProjectError::NotAProject`], [`ProjectError::Ambiguous`],
    /// [`ProjectError::BadBuild`], or I/O.
    pub fn open(dir: &Path) -> Result<Self, ProjectError> {
        let dir = std::fs::canonicalize(dir).map_err(ProjectError::io(dir))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(ProjectError::io(&dir))? {
            let path = entry.map_err(ProjectError::io(&dir))?.path();
            if path.extension().is_none_or(|e| e != "toml") || !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(ProjectError::io(&path))?;
            // Other TOML files (Cargo.toml, pyproject.toml) are not ours.
            let Ok(table) = toml::from_str::<toml::Table>(&text) else {
                continue;
            };
            if !table.contains_key("build") {
                continue;
            }
            let parsed: ManifestBuild =
                table
                    .try_into()
                    .map_err(|e: toml::de::Error| ProjectError::BadBuild {
                        path: path.clone(),
                        reason: e.message().to_owned(),
                    })?;
            if let Some(spec) = parsed.build {
                found.push((path, spec));
            }
        }
        let (path, build) = match found.len() {
            0 => return Err(ProjectError::NotAProject(dir)),
            1 => found.remove(0),
            _ => {
                let names: Vec<String> = found
                    .iter()
                    .filter_map(|(p, _)| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Err(ProjectError::Ambiguous {
                    dir,
                    names: names.join(", "),
                });
            }
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bad = |reason: String| ProjectError::BadBuild {
            path: path.clone(),
            reason,
        };
        check_name(&name).map_err(|_| bad(format!("the manifest's name {name:?} cannot name a plugin (lowercase letters, digits, '-', '_')")))?;
        if !["tools-plugin", "plugin"].contains(&build.world.as_str()) {
            return Err(bad(format!(
                "world {:?} is not one of berth's: \"tools-plugin\" or \"plugin\"",
                build.world
            )));
        }
        Language::find(&build.language)?;
        Ok(Self { dir, name, build })
    }

    /// The component the build writes.
    pub fn wasm(&self) -> PathBuf {
        self.dir.join(format!("{}.wasm", self.name))
    }

    /// The scratch directory of builds.
    pub fn scratch(&self) -> PathBuf {
        self.dir.join(".berth")
    }
}

/// Checks that `name` can name a plugin (it becomes the tool prefix).
///
/// # Errors
/// [`ProjectError::BadName`].
pub fn check_name(name: &str) -> Result<(), ProjectError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ProjectError::BadName(name.to_owned()))
    }
}

/// Writes a new project for `language` named `name` into `parent/name`.
/// Returns its directory.
///
/// # Errors
/// A bad name or language, an existing directory, or I/O.
pub fn create(language: &str, name: &str, parent: &Path) -> Result<PathBuf, ProjectError> {
    check_name(name)?;
    let language = Language::find(language)?;
    let dir = parent.join(name);
    if dir.exists() {
        return Err(ProjectError::Exists(dir));
    }
    let files = embedded::template(language.template, name);
    if files.is_empty() {
        return Err(ProjectError::Missing(format!(
            "this berth carries no template for {}",
            language.name
        )));
    }
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(up) = path.parent() {
            std::fs::create_dir_all(up).map_err(ProjectError::io(up))?;
        }
        std::fs::write(&path, bytes).map_err(ProjectError::io(&path))?;
    }
    Ok(dir)
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component.
    pub wasm: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// How long the build took (toolchain installs included).
    pub took: Duration,
}

/// Builds the project in `dir`, fetching its toolchain first if needed.
///
/// # Errors
/// Anything [`Project::open`] refuses, a toolchain that cannot be
/// installed, or the language's build failing.
pub fn build(dir: &Path, toolchains: &Toolchains) -> Result<Built, ProjectError> {
    let started = Instant::now();
    let project = Project::open(dir)?;
    let language = Language::find(&project.build.language)?;
    let scratch = project.scratch();
    std::fs::create_dir_all(&scratch).map_err(ProjectError::io(&scratch))?;
    let sdk = embedded::materialize(&toolchains.sdk_root())?;
    let out = project.wasm();
    // A stale component must not pass for a new one if the build fails.
    match std::fs::remove_file(&out) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(ProjectError::Io {
                path: out,
                source: e,
            });
        }
        _ => {}
    }
    (language.build)(&recipe::Inputs {
        project: &project,
        sdk: &sdk,
        toolchains,
        out: &out,
    })?;
    let bytes = std::fs::metadata(&out)
        .map_err(|_| ProjectError::NoOutput(out.clone()))?
        .len();
    Ok(Built {
        wasm: out,
        bytes,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests;
