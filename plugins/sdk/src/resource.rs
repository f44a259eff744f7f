//! Resources: concrete ones by URI, families of them by RFC 6570 template,
//! each with the handler that reads it.

use crate::Error;
use crate::bindings::berth::plugin::types::{
    BlobResourceContents, ResourceContents, TextResourceContents,
};
use crate::bindings::exports::berth::plugin::resources as wit;

/// What a read handler returns.
pub type ReadResult = Result<Vec<ResourceContents>, Error>;

type Reader = Box<dyn Fn(&str) -> ReadResult>;
type TemplateReader = Box<dyn Fn(&str, &Vars) -> ReadResult>;

/// The variables a template matched, by name.
pub struct Vars(Vec<(String, String)>);

impl Vars {
    /// The value of `name`, if the template has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A concrete resource and its reader.
pub struct Resource {
    descriptor: wit::Resource,
    reader: Reader,
}

/// A concrete resource at `uri` named `name`, read by `reader` (which gets
/// the URI).
pub fn resource<F>(uri: &str, name: &str, reader: F) -> Resource
where
    F: Fn(&str) -> ReadResult + 'static,
{
    Resource {
        descriptor: wit::Resource {
            uri: uri.to_owned(),
            name: name.to_owned(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
            icons: Vec::new(),
        },
        reader: Box::new(reader),
    }
}

impl Resource {
    /// Describes it.
    pub fn description(mut self, text: &str) -> Self {
        self.descriptor.description = Some(text.to_owned());
        self
    }

    /// Sets its MIME type.
    pub fn mime(mut self, mime: &str) -> Self {
        self.descriptor.mime_type = Some(mime.to_owned());
        self
    }

    /// Sets a human-readable title.
    pub fn title(mut self, title: &str) -> Self {
        self.descriptor.title = Some(title.to_owned());
        self
    }

    /// Its descriptor, for `list-resources`.
    pub fn descriptor(&self) -> wit::Resource {
        self.descriptor.clone()
    }
}

/// A family of resources and the reader of each of them.
pub struct Template {
    descriptor: wit::ResourceTemplate,
    reader: TemplateReader,
}

/// Resources whose URIs match `uri_template` (RFC 6570 level 1: `{name}`
/// stands for one or more characters other than `/`), read by `reader`
/// with the URI and the matched variables.
pub fn template<F>(uri_template: &str, name: &str, reader: F) -> Template
where
    F: Fn(&str, &Vars) -> ReadResult + 'static,
{
    Template {
        descriptor: wit::ResourceTemplate {
            uri_template: uri_template.to_owned(),
            name: name.to_owned(),
            title: None,
            description: None,
            mime_type: None,
            annotations: None,
            icons: Vec::new(),
        },
        reader: Box::new(reader),
    }
}

impl Template {
    /// Describes it.
    pub fn description(mut self, text: &str) -> Self {
        self.descriptor.description = Some(text.to_owned());
        self
    }

    /// Sets the MIME type of every matching resource.
    pub fn mime(mut self, mime: &str) -> Self {
        self.descriptor.mime_type = Some(mime.to_owned());
        self
    }

    /// Its descriptor, for `list-resource-templates`.
    pub fn descriptor(&self) -> wit::ResourceTemplate {
        self.descriptor.clone()
    }

    /// The variables of `uri` if it matches this template.
    pub fn matches(&self, uri: &str) -> Option<Vars> {
        crate::uri_template::match_template(&self.descriptor.uri_template, uri).map(Vars)
    }
}

/// Reads `uri` from the first resource with that URI, else the first
/// template it matches.
///
/// # Errors
/// `not-found` when nothing serves `uri`, and whatever the reader returns.
pub fn read(resources: &[Resource], templates: &[Template], uri: &str) -> ReadResult {
    if let Some(r) = resources.iter().find(|r| r.descriptor.uri == uri) {
        return (r.reader)(uri);
    }
    for t in templates {
        if let Some(vars) = t.matches(uri) {
            return (t.reader)(uri, &vars);
        }
    }
    Err(Error::NotFound(format!("no resource at {uri}")))
}

/// Text contents of `uri`.
pub fn text_contents(uri: &str, mime: &str, text: impl Into<String>) -> ResourceContents {
    ResourceContents::Text(TextResourceContents {
        uri: uri.to_owned(),
        mime_type: Some(mime.to_owned()),
        text: text.into(),
    })
}

/// Binary contents of `uri`.
pub fn blob_contents(uri: &str, mime: &str, bytes: Vec<u8>) -> ResourceContents {
    ResourceContents::Blob(BlobResourceContents {
        uri: uri.to_owned(),
        mime_type: Some(mime.to_owned()),
        blob: bytes,
    })
}
