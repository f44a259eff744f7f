//! Loading plugins: discovery in directories, compilation (cached), export
//! detection, and describing what each serves. The registry of exposed
//! names is in `registry.rs`.

use super::bindings::exports::berth::plugin::{completion, prompts, resources, tools};
use super::convert::{ToolInfo, tool_info};
use super::error::{CompileError, DescriptorError, LoadError};
use super::host::StoreData;
use super::manifest::{Manifest, ManifestError};
use super::surface;
use super::{Runtime, engine};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::{ComponentExportIndex, InstancePre};

/// The export name of the tools interface.
const TOOLS_INTERFACE: &str = concat!("berth:plugin/tools@", super::wit_version!());

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
    /// What its sandbox gets: the manifest's grants under the policy.
    pub(crate) granted: super::policy::Granted,
    pub(crate) pre: InstancePre<StoreData>,
    pub(crate) tools_api: Option<tools::GuestIndices>,
    /// `call-tool`, looked up once: per call only its type is checked.
    pub(crate) call_tool: Option<ComponentExportIndex>,
    pub(crate) exports: Exports,
    pub(crate) tools: Vec<Arc<ToolInfo>>,
    pub(crate) resources_api: Option<resources::GuestIndices>,
    pub(crate) prompts_api: Option<prompts::GuestIndices>,
    pub(crate) completion_api: Option<completion::GuestIndices>,
    /// Resources listed when it loaded (they route reads by exact URI).
    pub(crate) static_resources: Vec<rmcp::model::Resource>,
    /// Its resource templates.
    pub(crate) templates: Vec<rmcp::model::ResourceTemplate>,
    /// Its prompts, as it described them.
    pub(crate) prompts: Vec<Arc<PromptInfo>>,
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

    /// What its sandbox is granted under this berth's policy (secret
    /// names only are visible).
    pub fn granted(&self) -> &super::policy::Granted {
        &self.granted
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

    /// Its prompts, as it described them.
    pub fn prompts(&self) -> &[Arc<PromptInfo>] {
        &self.prompts
    }

    /// Its resource templates.
    pub fn templates(&self) -> &[rmcp::model::ResourceTemplate] {
        &self.templates
    }

    /// The resources it listed when it loaded.
    pub fn static_resources(&self) -> &[rmcp::model::Resource] {
        &self.static_resources
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

/// A plugin's prompt.
#[derive(Debug, Clone)]
pub struct PromptInfo {
    /// Name inside the plugin.
    pub name: String,
    /// Its descriptor (under the plugin-side name).
    pub(crate) descriptor: prompts::Prompt,
}

/// The `*.wasm` files directly in `dirs`, in name order per directory.
///
/// # Errors
/// [`LoadError::Read`] when a directory cannot be listed.
pub fn discover(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut found = Vec::new();
    for dir in dirs {
        let read = std::fs::read_dir(dir).map_err(|source| LoadError::Read {
            path: dir.clone(),
            source,
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
            source: ManifestError::FileName,
        })
    }
}

/// Tells apart, before compiling, the two files most often mistaken for a
/// plugin: something that is not WebAssembly at all, and a core module
/// (built for `wasm32-unknown-unknown` or `wasm32-wasip1`).
fn check_header(path: &Path, (bytes, size): &(Vec<u8>, u64)) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 0, 0]) => Err(LoadError::CoreModule {
            path: path.to_owned(),
        }),
        Some([0, b'a', b's', b'm', ..]) => Ok(()),
        _ => Err(LoadError::NotWasm {
            path: path.to_owned(),
            size: usize::try_from(*size).unwrap_or(usize::MAX),
        }),
    }
}

/// The first 8 bytes of `path` (fewer if it is shorter), and its size.
fn read_header(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut header = Vec::with_capacity(8);
    file.take(8).read_to_end(&mut header)?;
    Ok((header, size))
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
    let granted = super::policy::resolve(
        &manifest,
        path.parent().unwrap_or(Path::new(".")),
        &runtime.options.sandbox,
        &runtime.options.secrets,
    )
    .map_err(|e| LoadError::Manifest {
        path: path.with_extension("toml"),
        source: e.into(),
    })?;
    let header = read_header(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    check_header(path, &header)?;
    let engine = runtime.engine.clone();
    let cache = runtime.options.cache_dir.as_ref().map(|d| d.join("code"));
    let file = path.to_owned();
    let component = tokio::task::spawn_blocking(move || {
        super::compiled::load(&engine, cache.as_deref(), &file)
    })
    .await
    .map_err(CompileError::Thread)
    .and_then(|compiled| compiled)
    .map_err(|source| LoadError::Compile {
        path: path.to_owned(),
        source,
    })?;
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&runtime.engine)
        .map(|(n, _)| n.to_owned())
        .collect();
    let pre = runtime
        .linker
        .instantiate_pre(&component)
        .map_err(|source| LoadError::Imports {
            path: path.to_owned(),
            source,
        })?;
    let tools_api = tools::GuestIndices::new(&pre).ok();
    let call_tool = tools_api.as_ref().and_then(|_| {
        let iface = component.get_export_index(None, TOOLS_INTERFACE)?;
        component.get_export_index(Some(&iface), "call-tool")
    });
    let resources_api = resources::GuestIndices::new(&pre).ok();
    let prompts_api = prompts::GuestIndices::new(&pre).ok();
    let completion_api = completion::GuestIndices::new(&pre).ok();
    let exports = Exports {
        tools: tools_api.is_some(),
        resources: resources_api.is_some(),
        prompts: prompts_api.is_some(),
        completion: completion_api.is_some(),
    };
    if exports == Exports::default() {
        let found: Vec<String> = ty
            .exports(&runtime.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let ours: Vec<&String> = found
            .iter()
            .filter(|n| n.starts_with("berth:plugin/"))
            .collect();
        if !ours.is_empty() {
            return Err(LoadError::WrongVersion {
                path: path.to_owned(),
                found: ours
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        return Err(LoadError::NotAPlugin {
            path: path.to_owned(),
            found: if found.is_empty() {
                "nothing".to_owned()
            } else {
                found.join(", ")
            },
        });
    }
    let mut plugin = Plugin {
        name,
        path: path.to_owned(),
        manifest,
        granted,
        pre,
        tools_api,
        call_tool,
        exports,
        tools: Vec::new(),
        resources_api,
        prompts_api,
        completion_api,
        static_resources: Vec::new(),
        templates: Vec::new(),
        prompts: Vec::new(),
        imports,
        stamp,
    };
    let described = describe(runtime, &plugin).await?;
    describe_surface(
        &mut plugin,
        described.resources,
        described.templates,
        described.prompts,
    )?;
    if plugin.tools_api.is_some() {
        let described = described.tools;
        let mut seen = std::collections::HashSet::new();
        for t in described {
            let tool_name = t.name.clone();
            let info = tool_info(t).map_err(|source| LoadError::InvalidTool {
                path: path.to_owned(),
                tool: tool_name.clone(),
                source,
            })?;
            if !seen.insert(tool_name.clone()) {
                return Err(LoadError::InvalidTool {
                    path: path.to_owned(),
                    tool: tool_name,
                    source: DescriptorError::ListedTwice,
                });
            }
            plugin.tools.push(Arc::new(info));
        }
    }
    Ok(plugin)
}

/// What a plugin said it serves when it loaded.
#[derive(Default)]
struct Described {
    tools: Vec<tools::Tool>,
    resources: Vec<resources::Resource>,
    templates: Vec<resources::ResourceTemplate>,
    prompts: Vec<prompts::Prompt>,
}

async fn describe(runtime: &Runtime, plugin: &Plugin) -> Result<Described, LoadError> {
    let fail = |source: wasmtime::Error| LoadError::Describe {
        path: plugin.path.clone(),
        source,
    };
    // One instance answers every list: they are pure descriptions.
    let (mut store, output) = engine::store(runtime, plugin, None).map_err(fail)?;
    let result = async {
        let instance = plugin.pre.instantiate_async(&mut store).await?;
        let mut described = Described::default();
        if let Some(api) = &plugin.tools_api {
            described.tools = api
                .load(&mut store, &instance)?
                .call_list_tools(&mut store)
                .await?;
        }
        if let Some(api) = &plugin.resources_api {
            let guest = api.load(&mut store, &instance)?;
            described.templates = guest.call_list_resource_templates(&mut store).await?;
            described.resources = guest.call_list_resources(&mut store).await?;
        }
        if let Some(api) = &plugin.prompts_api {
            described.prompts = api
                .load(&mut store, &instance)?
                .call_list_prompts(&mut store)
                .await?;
        }
        Ok::<_, wasmtime::Error>(described)
    }
    .await;
    output.log(&plugin.name, false);
    result.map_err(fail)
}

/// Checks and keeps the resources, templates and prompts a plugin listed.
fn describe_surface(
    plugin: &mut Plugin,
    resources: Vec<resources::Resource>,
    templates: Vec<resources::ResourceTemplate>,
    prompts: Vec<prompts::Prompt>,
) -> Result<(), LoadError> {
    let invalid = |what: &str, source: DescriptorError| LoadError::InvalidTool {
        path: plugin.path.clone(),
        tool: what.to_owned(),
        source,
    };
    let mut seen = std::collections::HashSet::new();
    for r in resources {
        if r.uri.is_empty() || !r.uri.contains(':') {
            return Err(invalid(&r.uri, DescriptorError::NoScheme));
        }
        if !seen.insert(r.uri.clone()) {
            return Err(invalid(&r.uri, DescriptorError::ListedTwice));
        }
        plugin.static_resources.push(surface::resource(r));
    }
    for t in templates {
        surface::check_template(&t.uri_template).map_err(|e| invalid(&t.uri_template, e))?;
        if !seen.insert(t.uri_template.clone()) {
            return Err(invalid(&t.uri_template, DescriptorError::ListedTwice));
        }
        plugin.templates.push(surface::template(t));
    }
    let mut names = std::collections::HashSet::new();
    for p in prompts {
        if p.name.is_empty() || !names.insert(p.name.clone()) {
            return Err(invalid(&p.name, DescriptorError::PromptName));
        }
        plugin.prompts.push(Arc::new(PromptInfo {
            name: p.name.clone(),
            descriptor: p,
        }));
    }
    Ok(())
}
