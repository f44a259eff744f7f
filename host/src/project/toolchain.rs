//! Pinned toolchains, fetched from their registries on first use and kept
//! under `~/.cache/berth/toolchains/<tool>-<version>`, and running them.
//!
//! An install holds a lock file while it runs and marks its directory
//! complete only at the end, so concurrent builds wait for one install and
//! an interrupted one is redone.

use super::ProjectError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where toolchains and SDK copies are kept.
#[derive(Debug, Clone)]
pub struct Toolchains {
    root: PathBuf,
}

/// How a toolchain is installed.
pub(super) enum Install<'a> {
    /// `pip install --target DIR PACKAGE==VERSION` (run with
    /// `PYTHONPATH=DIR python3 -m MODULE`).
    Pip {
        /// The requirement, e.g. `componentize-py==0.25.1`.
        requirement: &'a str,
    },
    /// `npm ci` of a pinned `package.json` and `package-lock.json`.
    Npm {
        /// `package.json`.
        manifest: &'a [u8],
        /// `package-lock.json`.
        lock: &'a [u8],
    },
}

const DONE: &str = ".berth-installed";

impl Toolchains {
    /// Toolchains under `root` (e.g. `~/.cache/berth`).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `$BERTH_HOME`, else berth's cache directory
    /// ([`crate::config::cache_root`]), else `.berth-cache` here.
    pub fn from_env() -> Self {
        let root = std::env::var_os("BERTH_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(crate::config::cache_root)
            .unwrap_or_else(|| PathBuf::from(".berth-cache"));
        Self::new(root)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where SDK copies go.
    pub(super) fn sdk_root(&self) -> PathBuf {
        self.root.join("sdk")
    }

    /// The directory of toolchain `id` (e.g. `componentize-py-0.25.1`),
    /// installed with `how` unless it is already.
    pub(super) fn ensure(&self, id: &str, how: &Install<'_>) -> Result<PathBuf, ProjectError> {
        let base = self.root.join("toolchains");
        let dir = base.join(id);
        if dir.join(DONE).exists() {
            return Ok(dir);
        }
        let lock = self.lock(&format!("{id}.lock"))?;
        if dir.join(DONE).exists() {
            return Ok(dir);
        }
        eprintln!("berth: installing {id} into {} (first use)", dir.display());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(ProjectError::io(&dir))?;
        let install = |what: &str, cmd: &mut Command| {
            run(cmd).map_err(|e| match e {
                ProjectError::Failed { status, .. } => ProjectError::Install {
                    what: id.to_owned(),
                    detail: format!("{what}: {status}"),
                },
                other => other,
            })
        };
        match how {
            Install::Pip { requirement } => {
                let python = python()?;
                install(
                    "pip",
                    Command::new(python)
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                        ])
                        // The pinned wheel alone: no dependencies, no
                        // source builds.
                        .args(["--no-deps", "--only-binary=:all:"])
                        .args(["--no-warn-script-location", "--target"])
                        .arg(&dir)
                        .arg(requirement),
                )?;
            }
            Install::Npm { manifest, lock } => {
                for (file, bytes) in [("package.json", manifest), ("package-lock.json", lock)] {
                    let path = dir.join(file);
                    std::fs::write(&path, bytes).map_err(ProjectError::io(&path))?;
                }
                let npm = find_program(&["npm"]).ok_or_else(|| {
                    ProjectError::Missing(
                        "building JavaScript plugins needs Node.js 18+ and npm on PATH (e.g. `apt-get install nodejs npm`)".to_owned(),
                    )
                })?;
                install(
                    "npm ci",
                    Command::new(npm).current_dir(&dir).args([
                        "ci",
                        "--no-audit",
                        "--no-fund",
                        "--loglevel=error",
                    ]),
                )?;
            }
        }
        let done = dir.join(DONE);
        std::fs::write(&done, id).map_err(ProjectError::io(&done))?;
        drop(lock);
        Ok(dir)
    }
}

impl Toolchains {
    /// Takes the lock file `name` among the toolchains (waiting for whoever
    /// holds it); released when the file is dropped.
    fn lock(&self, name: &str) -> Result<std::fs::File, ProjectError> {
        let base = self.root.join("toolchains");
        std::fs::create_dir_all(&base).map_err(ProjectError::io(&base))?;
        let path = base.join(name);
        let lock = std::fs::File::create(&path).map_err(ProjectError::io(&path))?;
        lock.lock().map_err(ProjectError::io(&path))?;
        Ok(lock)
    }

    /// Makes sure the Debian `packages` are installed, each given with a
    /// file it installs. Missing ones are installed with `apt-get` when we
    /// are root on a system that has it (one install at a time); otherwise
    /// the error says the command to run.
    pub(super) fn system(&self, what: &str, packages: &[(&str, &str)]) -> Result<(), ProjectError> {
        let missing = || -> Vec<&str> {
            packages
                .iter()
                .filter(|(_, probe)| !Path::new(probe).exists())
                .map(|(name, _)| *name)
                .collect()
        };
        let wanted = missing();
        if wanted.is_empty() {
            return Ok(());
        }
        let apt = find_program(&["apt-get"]);
        let Some(apt) = apt.filter(|_| is_root()) else {
            return Err(cannot_install(what, &wanted));
        };
        let lock = self.lock("apt.lock")?;
        let wanted = missing();
        if wanted.is_empty() {
            return Ok(());
        }
        eprintln!(
            "berth: installing {} with apt-get (first use)",
            wanted.join(", ")
        );
        let install = || {
            run(Command::new(&apt)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&wanted))
        };
        // A fresh system may have no package lists yet.
        if install().is_err() {
            run(Command::new(&apt).args(["update", "-qq"]))
                .and_then(|()| install())
                .map_err(|e| ProjectError::Install {
                    what: wanted.join(", "),
                    detail: e.to_string(),
                })?;
        }
        let still = missing();
        if !still.is_empty() {
            return Err(ProjectError::Install {
                what: still.join(", "),
                detail: "apt-get left them missing".to_owned(),
            });
        }
        drop(lock);
        Ok(())
    }
}

/// What to do when berth may not install Debian packages itself.
pub(super) fn cannot_install(what: &str, packages: &[&str]) -> ProjectError {
    ProjectError::Missing(format!(
        "building {what} plugins needs {}: run `sudo apt-get install -y --no-install-recommends {}` (Debian 12 or later; elsewhere install clang 19 with wasi-libc and the wasm32 compiler-rt)",
        packages.join(", "),
        packages.join(" ")
    ))
}

/// Whether this process runs as root.
fn is_root() -> bool {
    #[cfg(unix)]
    {
        rustix::process::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The first of `names` found on `PATH`.
pub(super) fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Python 3 on PATH.
pub(super) fn python() -> Result<PathBuf, ProjectError> {
    find_program(&["python3", "python"]).ok_or_else(|| {
        ProjectError::Missing(
            "building Python plugins needs Python 3.10+ with pip on PATH (e.g. `apt-get install python3 python3-pip`)".to_owned(),
        )
    })
}

/// Runs `cmd` with its output on our stderr (so a failing toolchain's own
/// error is what the user reads).
pub(super) fn run(cmd: &mut Command) -> Result<(), ProjectError> {
    let shown = show(cmd);
    let status = cmd
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .stderr(std::io::stderr())
        .status()
        .map_err(|e| ProjectError::Failed {
            command: shown.clone(),
            status: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ProjectError::Failed {
            command: shown,
            status: status.to_string(),
        })
    }
}

/// `cmd` as a user would type it (program name and arguments).
fn show(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut words = vec![program];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}
