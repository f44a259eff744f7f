//! `x-mcp-header` annotations (2026-07-28, SEP-2243): a tool may ask that
//! some of its arguments also travel in `Mcp-Param-{Name}` HTTP headers,
//! so that gateways can route on them without parsing the body.
//!
//! Owns finding those annotations in a tool's input schema and the rules
//! they must follow, checked once when a plugin loads. Comparing a
//! request's headers with its arguments is the protocol's
//! (`protocol::headers`). Must not import anything else of the host.

use serde_json::{Map, Value};

/// The schema keyword.
pub const ANNOTATION: &str = "x-mcp-header";

/// An argument a tool mirrors into a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredParam {
    /// The header: `Mcp-Param-` and the annotation's value.
    pub header: String,
    /// The argument's place: a chain of `properties` keys from the root.
    pub path: Vec<String>,
}

impl MirroredParam {
    /// The argument's value in `arguments`, if there is one (`null` is
    /// none).
    pub fn value_in<'a>(&self, arguments: Option<&'a Map<String, Value>>) -> Option<&'a Value> {
        let (first, rest) = self.path.split_first()?;
        let mut at = arguments?.get(first)?;
        for key in rest {
            at = at.as_object()?.get(key)?;
        }
        (!at.is_null()).then_some(at)
    }

    /// `arguments.a.b`, for messages.
    pub fn argument(&self) -> String {
        format!("arguments.{}", self.path.join("."))
    }
}

/// Why a tool's `x-mcp-header` annotations are refused; `at` is the JSON
/// pointer of the annotated subschema (`/` for the root).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// Two annotations name one header.
    #[error("{ANNOTATION} values must be unique (case-insensitively): {header} is declared twice")]
    Repeated {
        /// The header, `Mcp-Param-…`.
        header: String,
    },
    /// Not reachable through `properties` alone.
    #[error(
        "{ANNOTATION} at {at} is not on a property reachable from the root through `properties` alone"
    )]
    Unreachable {
        /// Where.
        at: String,
    },
    /// The value is not a header token.
    #[error("{ANNOTATION} at {at} must be a non-empty HTTP header token, not {value}")]
    NotAToken {
        /// Where.
        at: String,
        /// The annotation's value, as JSON.
        value: Value,
    },
    /// The property is not a string, integer or boolean.
    #[error("{ANNOTATION} at {at} is on a property whose type is not string, integer or boolean")]
    NotPrimitive {
        /// Where.
        at: String,
    },
}

/// Keywords whose value maps names to subschemas.
const SCHEMA_MAPS: [&str; 4] = [
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Keywords whose value is data, not schemas.
const DATA: [&str; 4] = ["enum", "const", "default", "examples"];

/// The arguments `schema` mirrors into headers.
///
/// # Errors
/// Where an annotation breaks a rule: not a header token, not unique
/// (case-insensitively), on a type other than string, integer or boolean,
/// or not reachable from the root through `properties` alone.
pub fn mirrored_params(schema: &Map<String, Value>) -> Result<Vec<MirroredParam>, MirrorError> {
    let mut out = Vec::new();
    visit(schema, "", Some(&mut Vec::new()), &mut out)?;
    let mut seen = std::collections::HashSet::new();
    for p in &out {
        if !seen.insert(p.header.to_ascii_lowercase()) {
            return Err(MirrorError::Repeated {
                header: p.header.clone(),
            });
        }
    }
    Ok(out)
}

/// Visits one subschema at JSON pointer `at`. `path` is the chain of
/// `properties` keys that reached it, or `None` when another keyword
/// (`items`, `oneOf`, `$ref` targets, …) is on the way.
fn visit(
    schema: &Map<String, Value>,
    at: &str,
    mut path: Option<&mut Vec<String>>,
    out: &mut Vec<MirroredParam>,
) -> Result<(), MirrorError> {
    if let Some(name) = schema.get(ANNOTATION) {
        let place = || (if at.is_empty() { "/" } else { at }).to_owned();
        let Some(path) = path.as_deref().filter(|p| !p.is_empty()) else {
            return Err(MirrorError::Unreachable { at: place() });
        };
        let name = name
            .as_str()
            .filter(|n| !n.is_empty() && n.bytes().all(is_tchar))
            .ok_or_else(|| MirrorError::NotAToken {
                at: place(),
                value: name.clone(),
            })?;
        if !primitive(schema.get("type")) {
            return Err(MirrorError::NotPrimitive { at: place() });
        }
        out.push(MirroredParam {
            header: format!("Mcp-Param-{name}"),
            path: path.clone(),
        });
    }
    for (key, value) in schema {
        let here = child(at, key);
        if key == "properties" {
            for (prop, sub) in value.as_object().into_iter().flatten() {
                let Some(sub) = sub.as_object() else { continue };
                let inner = child(&here, prop);
                match path.as_deref_mut() {
                    Some(p) => {
                        p.push(prop.clone());
                        let r = visit(sub, &inner, Some(p), out);
                        p.pop();
                        r?;
                    }
                    None => visit(sub, &inner, None, out)?,
                }
            }
        } else if SCHEMA_MAPS.contains(&key.as_str()) {
            for (name, sub) in value.as_object().into_iter().flatten() {
                visit_any(sub, &child(&here, name), out)?;
            }
        } else if !DATA.contains(&key.as_str()) && key != ANNOTATION {
            visit_any(value, &here, out)?;
        }
    }
    Ok(())
}

/// The JSON pointer of `key` under `at` (RFC 6901 escaping).
fn child(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Any schema-shaped value off the `properties` chain.
fn visit_any(value: &Value, at: &str, out: &mut Vec<MirroredParam>) -> Result<(), MirrorError> {
    match value {
        Value::Object(map) => visit(map, at, None, out),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| visit_any(v, &format!("{at}/{i}"), out)),
        _ => Ok(()),
    }
}

/// `type` is string, integer or boolean (optionally also null).
fn primitive(ty: Option<&Value>) -> bool {
    let ok = |t: &str| matches!(t, "string" | "integer" | "boolean");
    match ty {
        Some(Value::String(t)) => ok(t),
        Some(Value::Array(types)) => {
            let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            named.len() == types.len()
                && named.iter().filter(|t| **t != "null").count() == 1
                && named.iter().all(|t| *t == "null" || ok(t))
        }
        _ => false,
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_map(v: &Value) -> Option<&Map<String, Value>> {
        v.as_object()
    }
    use serde_json::json;

    fn params(schema: Value) -> Result<Vec<MirroredParam>, String> {
        mirrored_params(schema.as_object().unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn annotated_properties_are_found_at_any_depth_of_properties() {
        let found = params(json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "query": {"type": "string"},
            "options": {"type": "object", "properties": {
                "limit": {"type": ["integer", "null"], "x-mcp-header": "Limit"},
                "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"}
            }},
            "tags": {"type": "array", "default": [{"x-mcp-header": "data, not a schema"}]}
        }}))
        .unwrap();
        let mut got: Vec<(&str, String)> = found
            .iter()
            .map(|p| (p.header.as_str(), p.path.join(".")))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("Mcp-Param-Dry-Run", "options.dry".to_owned()),
                ("Mcp-Param-Limit", "options.limit".to_owned()),
                ("Mcp-Param-Region", "region".to_owned()),
            ]
        );
        assert!(params(json!({"type": "object"})).unwrap().is_empty());
    }

    #[test]
    fn annotations_that_break_a_rule_are_refused_with_their_place() {
        let cases = [
            (
                json!({"properties": {"n": {"type": "number", "x-mcp-header": "N"}}}),
                "not string, integer or boolean",
            ),
            (
                json!({"properties": {"o": {"type": "object", "x-mcp-header": "O"}}}),
                "not string, integer or boolean",
            ),
            (
                json!({"properties": {"s": {"x-mcp-header": "S"}}}),
                "not string, integer or boolean",
            ),
            (
                json!({"properties": {"s": {"type": "string", "x-mcp-header": ""}}}),
                "non-empty HTTP header token",
            ),
            (
                json!({"properties": {"s": {"type": "string", "x-mcp-header": "A B"}}}),
                "non-empty HTTP header token",
            ),
            (
                json!({"properties": {"s": {"type": "string", "x-mcp-header": "A\r\nX: 1"}}}),
                "non-empty HTTP header token",
            ),
            (
                json!({"properties": {"s": {"type": "string", "x-mcp-header": 7}}}),
                "non-empty HTTP header token",
            ),
            (
                json!({"properties": {
                    "a": {"type": "string", "x-mcp-header": "Region"},
                    "b": {"type": "string", "x-mcp-header": "REGION"}}}),
                "unique",
            ),
            (
                json!({"properties": {"l": {"type": "array",
                    "items": {"type": "string", "x-mcp-header": "Item"}}}}),
                "/properties/l/items",
            ),
            (
                json!({"oneOf": [{"properties": {"s": {"type": "string", "x-mcp-header": "S"}}}]}),
                "/oneOf/0/properties/s",
            ),
            (
                json!({"$defs": {"r": {"type": "string", "x-mcp-header": "R"}},
                       "properties": {"r": {"$ref": "#/$defs/r"}}}),
                "/$defs/r",
            ),
            (
                json!({"type": "string", "x-mcp-header": "Root"}),
                "at / is not",
            ),
        ];
        for (schema, expect) in cases {
            let e = params(schema.clone()).unwrap_err();
            assert!(e.contains(expect), "{schema}: {e}");
        }
        // Whole messages, as they read when they were strings.
        for (schema, message) in [
            (
                json!({"properties": {"s": {"type": "string", "x-mcp-header": 7}}}),
                "x-mcp-header at /properties/s must be a non-empty HTTP header token, not 7",
            ),
            (
                json!({"properties": {"s": {"type": "string", "x-mcp-header": "A B"}}}),
                "x-mcp-header at /properties/s must be a non-empty HTTP header token, not \"A B\"",
            ),
            (
                json!({"type": "string", "x-mcp-header": "Root"}),
                "x-mcp-header at / is not on a property reachable from the root through `properties` alone",
            ),
            (
                json!({"properties": {
                    "a": {"type": "string", "x-mcp-header": "Region"},
                    "b": {"type": "string", "x-mcp-header": "REGION"}}}),
                "x-mcp-header values must be unique (case-insensitively): Mcp-Param-REGION is declared twice",
            ),
        ] {
            assert_eq!(params(schema).unwrap_err(), message);
        }
    }

    #[test]
    fn values_are_read_at_the_exact_path_and_null_is_none() {
        let p = MirroredParam {
            header: "Mcp-Param-Limit".to_owned(),
            path: vec!["options".to_owned(), "limit".to_owned()],
        };
        let args = json!({"options": {"limit": 5}, "limit": 9});
        assert_eq!(p.value_in(args.as_object()), Some(&json!(5)));
        assert_eq!(
            p.value_in(as_map(&json!({"options": {"limit": null}}))),
            None
        );
        assert_eq!(p.value_in(as_map(&json!({"options": 3}))), None);
        assert_eq!(p.value_in(None), None);
        assert_eq!(p.argument(), "arguments.options.limit");
    }
}
