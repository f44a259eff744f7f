//! Conversions from generated WIT types to MCP wire types (rmcp's model),
//! with the validation a descriptor needs before it is served.

use super::bindings::berth::plugin::types as wit;
use super::bindings::exports::berth::plugin::tools as wit_tools;
use super::error::{DescriptorError, ReplyError};
use base64::Engine as _;
use rmcp::model::{
    Annotations, CallToolResult, ContentBlock, Icon, IconTheme, Resource, ResourceContents, Role,
    ToolAnnotations,
};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A plugin's tool, validated, with its schemas compiled.
#[derive(Debug, Clone)]
pub struct ToolInfo {
    /// Name inside the plugin.
    pub name: String,
    /// Human-readable name.
    pub title: Option<String>,
    /// Description for the model.
    pub description: String,
    /// Input JSON Schema (an object).
    pub input_schema: Map<String, Value>,
    /// Output JSON Schema, if any.
    pub output_schema: Option<Map<String, Value>>,
    /// Behaviour hints.
    pub annotations: Option<ToolAnnotations>,
    /// Icons.
    pub icons: Vec<Icon>,
    /// Keeps session state.
    pub stateful: bool,
    /// Arguments mirrored into `Mcp-Param-*` headers (`x-mcp-header`).
    pub mirrored: Vec<super::mirror::MirroredParam>,
    input_validator: Arc<jsonschema::Validator>,
    output_validator: Option<Arc<jsonschema::Validator>>,
}

/// Most validation errors reported for one instance.
const MAX_REPORTED_ERRORS: usize = 5;

fn errors_of(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    // The common case, cheaply: `is_valid` stops at the first failure and
    // tracks no error paths.
    if validator.is_valid(instance) {
        return Vec::new();
    }
    validator
        .iter_errors(instance)
        .take(MAX_REPORTED_ERRORS)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("at {path}: {e}")
            }
        })
        .collect()
}

impl ToolInfo {
    /// Why `arguments` do not fit the input schema (empty when they do).
    pub fn input_errors(&self, arguments: &Value) -> Vec<String> {
        errors_of(&self.input_validator, arguments)
    }

    /// Why `structured` does not fit the output schema (empty when it does
    /// or there is none).
    pub fn output_errors(&self, structured: &Value) -> Vec<String> {
        self.output_validator
            .as_ref()
            .map(|v| errors_of(v, structured))
            .unwrap_or_default()
    }
}

/// Compiles a schema; remote `$ref`s are never fetched.
fn compile(
    schema: &Map<String, Value>,
    what: &'static str,
) -> Result<Arc<jsonschema::Validator>, DescriptorError> {
    jsonschema::validator_for(&Value::Object(schema.clone()))
        .map(Arc::new)
        .map_err(|e| DescriptorError::UnusableSchema {
            what,
            source: Box::new(e),
        })
}

/// Whether `name` is a valid MCP tool name (1–128 of `A-Za-z0-9_-.`).
pub fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn schema_object(text: &str, what: &'static str) -> Result<Map<String, Value>, DescriptorError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(DescriptorError::SchemaNotObject { what }),
        Err(source) => Err(DescriptorError::SchemaNotJson { what, source }),
    }
}

/// Validates a tool descriptor.
///
/// # Errors
/// A [`DescriptorError`] saying what is wrong.
pub fn tool_info(t: wit_tools::Tool) -> Result<ToolInfo, DescriptorError> {
    if !valid_tool_name(&t.name) {
        return Err(DescriptorError::ToolName);
    }
    if t.description.trim().is_empty() {
        return Err(DescriptorError::EmptyDescription);
    }
    let input_schema = schema_object(&t.input_schema, "input schema")?;
    if input_schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(DescriptorError::InputNotObject);
    }
    if t.stateful
        && input_schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key("session"))
    {
        return Err(DescriptorError::SessionArgument);
    }
    let mirrored =
        super::mirror::mirrored_params(&input_schema).map_err(DescriptorError::Mirror)?;
    let output_schema = t
        .output_schema
        .as_deref()
        .map(|s| schema_object(s, "output schema"))
        .transpose()?;
    let annotations = t.annotations.map(|a| {
        let mut out = ToolAnnotations::new();
        out.title = a.title;
        out.read_only_hint = a.read_only_hint;
        out.destructive_hint = a.destructive_hint;
        out.idempotent_hint = a.idempotent_hint;
        out.open_world_hint = a.open_world_hint;
        out
    });
    let input_validator = compile(&input_schema, "input schema")?;
    let output_validator = output_schema
        .as_ref()
        .map(|s| compile(s, "output schema"))
        .transpose()?;
    Ok(ToolInfo {
        input_validator,
        output_validator,
        name: t.name,
        title: t.title,
        description: t.description,
        input_schema,
        output_schema,
        annotations,
        icons: t.icons.into_iter().map(icon).collect(),
        stateful: t.stateful,
        mirrored,
    })
}

pub(super) fn icon(i: wit::Icon) -> Icon {
    let mut out = Icon::new(i.src);
    out.mime_type = i.mime_type;
    out.sizes = (!i.sizes.is_empty()).then_some(i.sizes);
    out.theme = i.theme.map(|t| match t {
        wit::IconTheme::Light => IconTheme::Light,
        wit::IconTheme::Dark => IconTheme::Dark,
    });
    out
}

pub(super) fn annotations(a: Option<wit::Annotations>) -> Option<Annotations> {
    let a = a?;
    let mut out = Annotations::default();
    if !a.audience.is_empty() {
        out.audience = Some(
            a.audience
                .into_iter()
                .map(|r| match r {
                    wit::Role::User => Role::User,
                    wit::Role::Assistant => Role::Assistant,
                })
                .collect(),
        );
    }
    out.priority = a.priority.map(|p| p as f32);
    out.last_modified = a.last_modified;
    Some(out)
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Resource contents on the wire.
pub fn resource_contents(c: wit::ResourceContents) -> ResourceContents {
    match c {
        wit::ResourceContents::Text(t) => ResourceContents::TextResourceContents {
            uri: t.uri,
            mime_type: t.mime_type,
            text: t.text,
            meta: None,
        },
        wit::ResourceContents::Blob(b) => ResourceContents::BlobResourceContents {
            uri: b.uri,
            mime_type: b.mime_type,
            blob: b64(&b.blob),
            meta: None,
        },
    }
}

/// A content block on the wire.
pub fn content(c: wit::Content) -> ContentBlock {
    match c {
        wit::Content::Text(t) => {
            let mut block = rmcp::model::TextContent::new(t.text);
            block.annotations = annotations(t.annotations);
            ContentBlock::Text(block)
        }
        wit::Content::Image(i) => {
            let mut block = rmcp::model::ImageContent::new(b64(&i.data), i.mime_type);
            block.annotations = annotations(i.annotations);
            ContentBlock::Image(block)
        }
        wit::Content::Audio(a) => {
            let mut block = rmcp::model::AudioContent::new(b64(&a.data), a.mime_type);
            block.annotations = annotations(a.annotations);
            ContentBlock::Audio(block)
        }
        wit::Content::ResourceLink(l) => {
            let mut r = Resource::new(l.uri, l.name);
            r.title = l.title;
            r.description = l.description;
            r.mime_type = l.mime_type;
            r.size = l.size;
            r.annotations = annotations(l.annotations);
            ContentBlock::ResourceLink(r)
        }
        wit::Content::Resource(e) => {
            let mut block = rmcp::model::EmbeddedResource::new(resource_contents(e.contents));
            block.annotations = annotations(e.annotations);
            ContentBlock::Resource(block)
        }
    }
}

/// The size of a result's payload, bytes: text, binary data (before
/// base64) and structured content. Names, URIs and annotations are small
/// and bounded elsewhere, so they are not counted.
pub fn result_bytes(r: &wit_tools::CallResult) -> usize {
    let block = |c: &wit::Content| match c {
        wit::Content::Text(t) => t.text.len(),
        wit::Content::Image(b) | wit::Content::Audio(b) => b.data.len(),
        wit::Content::ResourceLink(_) => 0,
        wit::Content::Resource(e) => match &e.contents {
            wit::ResourceContents::Text(t) => t.text.len(),
            wit::ResourceContents::Blob(b) => b.blob.len(),
        },
    };
    r.content.iter().map(block).sum::<usize>()
        + r.structured_content.as_ref().map_or(0, String::len)
}

/// A tool result on the wire. Structured content that is not JSON is a
/// plugin fault.
///
/// # Errors
/// [`ReplyError::StructuredNotJson`], for the host log.
pub fn call_result(r: wit_tools::CallResult) -> Result<CallToolResult, ReplyError> {
    let content: Vec<ContentBlock> = r.content.into_iter().map(content).collect();
    let mut out = if r.is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    if let Some(text) = r.structured_content {
        let value: Value = serde_json::from_str(&text).map_err(ReplyError::StructuredNotJson)?;
        out.structured_content = Some(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(name: &str, schema: &str, stateful: bool) -> wit_tools::Tool {
        wit_tools::Tool {
            name: name.to_owned(),
            title: None,
            description: "does things".to_owned(),
            input_schema: schema.to_owned(),
            output_schema: None,
            annotations: None,
            icons: Vec::new(),
            stateful,
        }
    }

    #[test]
    fn descriptors_are_validated() {
        let ok = r#"{"type":"object","properties":{}}"#;
        assert!(tool_info(descriptor("a.b-c_1", ok, false)).is_ok());
        assert!(tool_info(descriptor("has space", ok, false)).is_err());
        assert!(tool_info(descriptor("", ok, false)).is_err());
        assert!(tool_info(descriptor("t", "[]", false)).is_err());
        assert!(tool_info(descriptor("t", "{\"type\":\"string\"}", false)).is_err());
        assert!(tool_info(descriptor("t", "not json", false)).is_err());
        let with_session = r#"{"type":"object","properties":{"session":{"type":"string"}}}"#;
        assert!(tool_info(descriptor("t", with_session, true)).is_err());
        assert!(tool_info(descriptor("t", with_session, false)).is_ok());
        let mirrored =
            r#"{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"Region"}}}"#;
        let info = tool_info(descriptor("t", mirrored, false)).unwrap();
        assert_eq!(info.mirrored[0].header, "Mcp-Param-Region");
        let bad =
            r#"{"type":"object","properties":{"r":{"type":"number","x-mcp-header":"Region"}}}"#;
        let e = tool_info(descriptor("t", bad, false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input schema: x-mcp-header at /properties/r is on a property whose type is not string, integer or boolean"
        );
        assert!(matches!(e, DescriptorError::Mirror(_)), "the cause is kept");
        for (name, schema, message) in [
            (
                "has space",
                ok,
                "names must be 1-128 characters of A-Z a-z 0-9 _ - .",
            ),
            ("t", "[]", "input schema must be a JSON object"),
            (
                "t",
                "{\"type\":\"string\"}",
                "input schema must have \"type\": \"object\"",
            ),
        ] {
            assert_eq!(
                tool_info(descriptor(name, schema, false))
                    .unwrap_err()
                    .to_string(),
                message
            );
        }
        let e = tool_info(descriptor("t", "not json", false)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input schema is not JSON: expected"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some_and(|s| s.is::<serde_json::Error>()));
    }

    #[test]
    fn arguments_and_results_are_checked_against_the_schemas() {
        let mut d = descriptor(
            "t",
            r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}"#,
            false,
        );
        d.output_schema = Some(r#"{"type":"object","required":["ok"]}"#.to_owned());
        let info = tool_info(d).unwrap();
        assert!(info.input_errors(&serde_json::json!({"n": 1})).is_empty());
        let errors = info.input_errors(&serde_json::json!({"n": "one", "x": 1}));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("at /n:")), "{errors:?}");
        assert!(
            info.output_errors(&serde_json::json!({"ok": true}))
                .is_empty()
        );
        assert_eq!(info.output_errors(&serde_json::json!({})).len(), 1);
        // An unusable schema is a load error.
        let bad = descriptor(
            "t",
            r#"{"type":"object","properties":{"n":{"type":12}}}"#,
            false,
        );
        let e = tool_info(bad).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input schema is not a usable JSON Schema: "),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn every_content_kind_has_its_wire_shape() {
        let ann = Some(wit::Annotations {
            audience: vec![wit::Role::User],
            priority: Some(0.5),
            last_modified: None,
        });
        let blocks = vec![
            wit::Content::Text(wit::TextContent {
                text: "hi".to_owned(),
                annotations: ann,
            }),
            wit::Content::Audio(wit::BinaryContent {
                data: b"RIFF".to_vec(),
                mime_type: "audio/wav".to_owned(),
                annotations: None,
            }),
            wit::Content::ResourceLink(wit::ResourceLink {
                uri: "notes://1".to_owned(),
                name: "note 1".to_owned(),
                title: None,
                description: Some("the first".to_owned()),
                mime_type: Some("text/plain".to_owned()),
                size: Some(3),
                annotations: None,
            }),
            wit::Content::Resource(wit::EmbeddedResource {
                contents: wit::ResourceContents::Text(wit::TextResourceContents {
                    uri: "notes://1".to_owned(),
                    mime_type: Some("text/plain".to_owned()),
                    text: "abc".to_owned(),
                }),
                annotations: None,
            }),
            wit::Content::Resource(wit::EmbeddedResource {
                contents: wit::ResourceContents::Blob(wit::BlobResourceContents {
                    uri: "notes://2".to_owned(),
                    mime_type: None,
                    blob: vec![1, 2, 3],
                }),
                annotations: None,
            }),
        ];
        let wire: Vec<serde_json::Value> = blocks
            .into_iter()
            .map(|b| serde_json::to_value(content(b)).unwrap())
            .collect();
        assert_eq!(
            wire,
            vec![
                serde_json::json!({"type":"text","text":"hi","annotations":{"audience":["user"],"priority":0.5}}),
                serde_json::json!({"type":"audio","data":"UklGRg==","mimeType":"audio/wav"}),
                serde_json::json!({"type":"resource_link","uri":"notes://1","name":"note 1",
                    "description":"the first","mimeType":"text/plain","size":3}),
                serde_json::json!({"type":"resource","resource":{"uri":"notes://1","mimeType":"text/plain","text":"abc"}}),
                serde_json::json!({"type":"resource","resource":{"uri":"notes://2","blob":"AQID"}}),
            ]
        );
    }

    #[test]
    fn binary_content_is_base64_encoded() {
        let block = content(wit::Content::Image(wit::BinaryContent {
            data: vec![0xff, 0x00],
            mime_type: "image/png".to_owned(),
            annotations: None,
        }));
        let v = serde_json::to_value(block).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"image","data":"/wA=","mimeType":"image/png"})
        );
    }
}
