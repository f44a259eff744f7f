//! The registry of what the loaded plugins serve, under the names clients
//! use: tools and prompts by exposed name (`<prefix>_<name>`), resources by
//! URI (exact, then by template), templates for completion.

use super::convert::{ToolInfo, valid_tool_name};
use super::error::{DescriptorError, LoadError};
use super::loader::{Plugin, PromptInfo};
use std::collections::BTreeMap;
use std::sync::Arc;

#[path = "../../../plugins/sdk/src/uri_template.rs"]
mod uri_template;
pub use uri_template::match_template;

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

/// A prompt as served: its exposed name, plugin and descriptor.
#[derive(Clone)]
pub struct PromptEntry {
    /// The exposed name, `<prefix>_<prompt>`.
    pub name: Arc<str>,
    /// The plugin serving it.
    pub plugin: Arc<Plugin>,
    /// Its descriptor.
    pub info: Arc<PromptInfo>,
}

impl PromptEntry {
    /// The listed form.
    pub fn listed(&self) -> rmcp::model::Prompt {
        super::surface::prompt(self.info.descriptor.clone(), self.name.to_string())
    }
}

/// Every loaded plugin and every exposed name.
#[derive(Default, Clone)]
pub struct Registry {
    plugins: BTreeMap<Arc<str>, Arc<Plugin>>,
    tools: BTreeMap<Arc<str>, ToolEntry>,
    prompts: BTreeMap<Arc<str>, PromptEntry>,
    /// Resources listed at load, by URI.
    resources: BTreeMap<String, Arc<Plugin>>,
    /// Templates in plugin-name order, for routing.
    templates: Vec<(String, Arc<Plugin>)>,
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
        let collision = |name: &str, existing: &Plugin| LoadError::Collision {
            path: plugin.path.clone(),
            name: name.to_owned(),
            existing: existing.name.to_string(),
        };
        let mut prompts = Vec::with_capacity(plugin.prompts.len());
        for info in &plugin.prompts {
            let name: Arc<str> = Arc::from(plugin.exposed_name(&info.name));
            if let Some(existing) = self.prompts.get(&name) {
                return Err(collision(&name, &existing.plugin));
            }
            prompts.push(PromptEntry {
                name,
                plugin: plugin.clone(),
                info: info.clone(),
            });
        }
        for r in &plugin.static_resources {
            if let Some(existing) = self.resources.get(&r.uri) {
                return Err(collision(&r.uri, existing));
            }
        }
        for t in &plugin.templates {
            if let Some((_, existing)) = self.templates.iter().find(|(u, _)| *u == t.uri_template) {
                return Err(collision(&t.uri_template, existing));
            }
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
                    source: DescriptorError::ExposedName(name.to_string()),
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
        for p in prompts {
            self.prompts.insert(p.name.clone(), p);
        }
        for r in &plugin.static_resources {
            self.resources.insert(r.uri.clone(), plugin.clone());
        }
        for t in &plugin.templates {
            self.templates
                .push((t.uri_template.clone(), plugin.clone()));
        }
        self.templates.sort_by(|a, b| a.1.name.cmp(&b.1.name));
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

    /// A prompt by exposed name.
    pub fn prompt(&self, name: &str) -> Option<&PromptEntry> {
        self.prompts.get(name)
    }

    /// All prompts, sorted by exposed name.
    pub fn prompts(&self) -> impl ExactSizeIterator<Item = &PromptEntry> {
        self.prompts.values()
    }

    /// The plugin serving `uri`: the one that listed it, else the first
    /// (by plugin name) with a template it matches.
    pub fn resource_owner(&self, uri: &str) -> Option<&Arc<Plugin>> {
        self.resources.get(uri).or_else(|| {
            self.templates
                .iter()
                .find(|(t, _)| match_template(t, uri).is_some())
                .map(|(_, p)| p)
        })
    }

    /// The plugin with the template `uri_template`.
    pub fn template_owner(&self, uri_template: &str) -> Option<&Arc<Plugin>> {
        self.templates
            .iter()
            .find(|(t, _)| t == uri_template)
            .map(|(_, p)| p)
    }

    /// Plugins that serve resources, by name.
    pub fn resource_plugins(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.plugins.values().filter(|p| p.exports.resources)
    }
}

#[cfg(test)]
mod tests {
    use super::match_template;

    #[test]
    fn level_one_templates_match_whole_segments() {
        let v = match_template("test://template/{id}/data", "test://template/123/data");
        assert_eq!(v, Some(vec![("id".to_owned(), "123".to_owned())]));
        assert!(match_template("test://template/{id}/data", "test://template//data").is_none());
        assert!(match_template("test://template/{id}/data", "test://template/1/2/data").is_none());
        assert!(match_template("notes://{id}", "notes://a/b").is_none());
        assert!(match_template("notes://{id}", "other://a").is_none());
        assert_eq!(
            match_template("a://{x}-{y}", "a://1-2"),
            Some(vec![
                ("x".to_owned(), "1".to_owned()),
                ("y".to_owned(), "2".to_owned())
            ])
        );
    }
}
