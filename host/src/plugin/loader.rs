//! Loading plugins: discovery in directories, compilation (cached), export
//! detection, describing tools, and the registry of exposed names.

use super::bindings::exports::berth::plugin::{completion, prompts, resources, tools};
use super::convert::{ToolInfo, tool_info, valid_tool_name};
use super::error::LoadError;
use super::host::StoreData;
use super::manifest::Manifest;
use super::{Runtime, engine};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

/// The export name of the tools interface.
const TOOLS_INTERFACE: &str = "berth:plugin/tools@0.1.0";

/// Which berth interfaces a component exports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exports {
    /// `berth:plugin/tools`
    pub tools: bool,
    /// `berth:plugin/resources`
    pub resources: bool,
    /// `berth:plugin/prompts`
    pub prompts: bool,
    /// `berth:plugin/completion`
    pub completion: bool,
}

/// A loaded plugin: compiled, linked, described. Immutable; a reload
/// replaces it, and calls in flight keep the version they started with.
pub struct Plugin {
    pub(crate) name: Arc<str>,
    pub(crate) path: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) pre: InstancePre<StoreData>,
    pub(crate) tools_api: Option<tools::GuestIndices>,
    /// `call-tool`, looked up once: per call only its type is checked.
    pub(crate) call_tool: Option<ComponentExportIndex>,
    pub(crate) exports: Exports,
    pub(crate) tools: Vec<Arc<ToolInfo>>,
    pub(crate) imports: Vec<String>,
    /// The version on disk this was loaded from.
    pub(crate) stamp: super::reload::FileStamp,
}

impl Plugin {
    /// The plugin's name (its file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The berth interfaces it exports.
    pub fn exports(&self) -> Exports {
        self.exports
    }

    /// Its tools, as it described them.
    pub fn tools(&self) -> &[Arc<ToolInfo>] {
        &self.tools
    }

    /// The interfaces it imports (WASI and berth).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// The prefix of its exposed names.
    pub fn prefix(&self) -> &str {
        self.manifest.prefix.as_deref().unwrap_or(&self.name)
    }

    /// The name a tool is exposed under.
    pub fn exposed_name(&self, tool: &str) -> String {
        match self.prefix() {
            "" => tool.to_owned(),
            prefix => format!("{prefix}_{tool}"),
        }
    }
}

/// A tool as served: its exposed name, plugin and descriptor.
#[derive(Clone)]
pub struct ToolEntry {
    /// The exposed name, `<prefix>_<tool>`.
    pub name: Arc<str>,
    /// The plugin serving it.
    pub plugin: Arc<Plugin>,
    /// Its descriptor.
    pub info: Arc<ToolInfo>,
}

/// Every loaded plugin and every exposed tool name.
#[derive(Default, Clone)]
pub struct Registry {
    plugins: BTreeMap<Arc<str>, Arc<Plugin>>,
    tools: BTreeMap<Arc<str>, ToolEntry>,
}

impl Registry {
    /// Adds a plugin.
    ///
    /// # Errors
    /// [`LoadError::DuplicateName`] or [`LoadError::Collision`]; the
    /// registry is unchanged then.
    pub fn add(&mut self, plugin: Arc<Plugin>) -> Result<(), LoadError> {
        if self.plugins.contains_key(&plugin.name) {
            return Err(LoadError::DuplicateName {
                path: plugin.path.clone(),
                name: plugin.name.to_string(),
            });
        }
        let mut entries = Vec::with_capacity(plugin.tools.len());
        for info in &plugin.tools {
            let name: Arc<str> = Arc::from(plugin.exposed_name(&info.name));
            if let Some(existing) = self.tools.get(&name) {
                return Err(LoadError::Collision {
                    path: plugin.path.clone(),
                    name: name.to_string(),
                    existing: existing.plugin.name.to_string(),
                });
            }
            if !valid_tool_name(&name) {
                return Err(LoadError::InvalidTool {
                    path: plugin.path.clone(),
                    tool: info.name.clone(),
                    reason: format!("exposed name {name:?} is not a valid tool name"),
                });
            }
            entries.push(ToolEntry {
                name,
                plugin: plugin.clone(),
                info: info.clone(),
            });
        }
        for e in entries {
            self.tools.insert(e.name.clone(), e);
        }
        self.plugins.insert(plugin.name.clone(), plugin);
        Ok(())
    }

    /// A tool by exposed name.
    pub fn tool(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

    /// All tools, sorted by exposed name.
    pub fn tools(&self) -> impl ExactSizeIterator<Item = &ToolEntry> {
        self.tools.values()
    }

    /// All plugins, sorted by name.
    pub fn plugins(&self) -> impl ExactSizeIterator<Item = &Arc<Plugin>> {
        self.plugins.values()
    }

    /// Number of tools.
    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }
}

/// The `*.wasm` files directly in `dirs`, in name order per directory.
///
/// # Errors
/// [`LoadError::Read`] when a directory cannot be listed.
pub fn discover(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut found = Vec::new();
    for dir in dirs {
        let read = std::fs::read_dir(dir).map_err(|e| LoadError::Read {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
            .collect();
        files.sort();
        found.extend(files);
    }
    Ok(found)
}

fn plugin_name(path: &Path) -> Result<Arc<str>, LoadError> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let ok = !stem.is_empty()
        && stem.len() <= 64
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(Arc::from(stem))
    } else {
        Err(LoadError::Manifest {
            path: path.to_owned(),
            reason: "plugin file names must be 1-64 characters of A-Z a-z 0-9 _ -".to_owned(),
        })
    }
}

/// Loads one plugin file.
///
/// # Errors
/// A [`LoadError`] naming the file and what is wrong.
pub(crate) async fn load(runtime: &Runtime, path: &Path) -> Result<Plugin, LoadError> {
    let name = plugin_name(path)?;
    // Stamp before reading: a change during the load is seen next time.
    let stamp = super::reload::FileStamp::of(path);
    let manifest = Manifest::for_wasm(path, runtime.options.default_limits)?;
    let bytes = tokio::fs::read(path).await.map_err(|e| LoadError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let engine = runtime.engine.clone();
    let component = tokio::task::spawn_blocking(move || Component::new(&engine, &bytes))
        .await
        .map_err(|e| LoadError::Compile {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .map_err(|e| LoadError::Compile {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        })?;
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&runtime.engine)
        .map(|(n, _)| n.to_owned())
        .collect();
    let pre = runtime
        .linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::Imports {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        })?;
    let tools_api = tools::GuestIndices::new(&pre).ok();
    let call_tool = tools_api.as_ref().and_then(|_| {
        let iface = component.get_export_index(None, TOOLS_INTERFACE)?;
        component.get_export_index(Some(&iface), "call-tool")
    });
    let exports = Exports {
        tools: tools_api.is_some(),
        resources: resources::GuestIndices::new(&pre).is_ok(),
        prompts: prompts::GuestIndices::new(&pre).is_ok(),
        completion: completion::GuestIndices::new(&pre).is_ok(),
    };
    if exports == Exports::default() {
        let found: Vec<String> = ty
            .exports(&runtime.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        return Err(LoadError::NotAPlugin {
            path: path.to_owned(),
            found: if found.is_empty() {
                "nothing".to_owned()
            } else {
                found.join(", ")
            },
        });
    }
    let env: Vec<(String, String)> = manifest
        .grants
        .env
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
        .collect();
    let mut plugin = Plugin {
        name,
        path: path.to_owned(),
        manifest,
        env,
        pre,
        tools_api,
        call_tool,
        exports,
        tools: Vec::new(),
        imports,
        stamp,
    };
    if let Some(api) = &plugin.tools_api {
        let described = describe(runtime, &plugin, api).await?;
        let mut seen = std::collections::HashSet::new();
        for t in described {
            let tool_name = t.name.clone();
            let info = tool_info(t).map_err(|reason| LoadError::InvalidTool {
                path: path.to_owned(),
                tool: tool_name.clone(),
                reason,
            })?;
            if !seen.insert(tool_name.clone()) {
                return Err(LoadError::InvalidTool {
                    path: path.to_owned(),
                    tool: tool_name,
                    reason: "listed twice".to_owned(),
                });
            }
            plugin.tools.push(Arc::new(info));
        }
    }
    Ok(plugin)
}

async fn describe(
    runtime: &Runtime,
    plugin: &Plugin,
    api: &tools::GuestIndices,
) -> Result<Vec<tools::Tool>, LoadError> {
    let fail = |reason: String| LoadError::Describe {
        path: plugin.path.clone(),
        reason,
    };
    let (mut store, output) = engine::store(runtime, plugin, None).map_err(fail)?;
    let result = async {
        let instance = plugin.pre.instantiate_async(&mut store).await?;
        let guest = api.load(&mut store, &instance)?;
        guest.call_list_tools(&mut store).await
    }
    .await;
    output.log(&plugin.name);
    result.map_err(|e| fail(format!("{e:#}")))
}
