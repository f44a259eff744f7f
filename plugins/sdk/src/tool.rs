//! Tool descriptors built from Rust types, and dispatch of calls to them.

use crate::bindings::berth::plugin::types::InputAnswers;
use crate::bindings::exports::berth::plugin::tools::{self as wit, CallResult, ToolOutcome};
use crate::input::{Input, Outcome};
use crate::{Content, Error, TextContent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What a tool handler returns: a result for the model, or an [`Error`].
pub type ToolResult = Result<CallResult, Error>;

/// What a tool handler that may ask the client returns.
pub type ToolAsk = Result<Outcome<CallResult>, Error>;

impl From<CallResult> for Outcome<CallResult> {
    fn from(result: CallResult) -> Self {
        Self::Done(result)
    }
}

type Handler = Box<dyn Fn(Value, &Input) -> ToolAsk>;

/// One tool: its descriptor and its handler.
pub struct Tool {
    name: &'static str,
    description: &'static str,
    title: Option<&'static str>,
    input_schema: fn() -> Value,
    output_schema: Option<fn() -> Value>,
    annotations: Option<wit::ToolAnnotations>,
    stateful: bool,
    handler: Handler,
}

/// Builds a tool whose arguments are deserialised into `A`; the input schema
/// is derived from `A`. Arguments that do not fit `A` are answered with an
/// `invalid-params` error naming the problem.
pub fn tool<A, F>(name: &'static str, description: &'static str, handler: F) -> Tool
where
    A: DeserializeOwned + schemars::JsonSchema + 'static,
    F: Fn(A) -> ToolResult + 'static,
{
    Tool {
        name,
        description,
        title: None,
        input_schema: schema_of::<A>,
        output_schema: None,
        annotations: None,
        stateful: false,
        handler: Box::new(move |arguments, _| {
            let args = serde_json::from_value::<A>(arguments)
                .map_err(|e| Error::InvalidParams(format!("invalid arguments: {e}")))?;
            handler(args).map(Outcome::Done)
        }),
    }
}

/// Builds a tool that may ask the client before it answers (see
/// [`crate::input`]). The handler gets the arguments and the answers so
/// far; on the first round the answers are empty.
pub fn tool_with_input<A, F>(name: &'static str, description: &'static str, handler: F) -> Tool
where
    A: DeserializeOwned + schemars::JsonSchema + 'static,
    F: Fn(A, &Input) -> ToolAsk + 'static,
{
    Tool {
        handler: Box::new(move |arguments, input| {
            let args = serde_json::from_value::<A>(arguments)
                .map_err(|e| Error::InvalidParams(format!("invalid arguments: {e}")))?;
            handler(args, input)
        }),
        ..tool(name, description, |_: A| Ok(text("")))
    }
}

impl Tool {
    /// Marks the tool as keeping state in the `session` scope.
    pub fn stateful(mut self) -> Self {
        self.stateful = true;
        self
    }

    /// Sets a human-readable title.
    pub fn title(mut self, title: &'static str) -> Self {
        self.title = Some(title);
        self
    }

    /// Replaces the derived input schema (for schemas a Rust type cannot
    /// express; the host still validates arguments against it).
    pub fn input_schema(mut self, schema: fn() -> Value) -> Self {
        self.input_schema = schema;
        self
    }

    /// Declares the structured output type `O` (its schema becomes the
    /// tool's output schema).
    pub fn output<O: schemars::JsonSchema>(mut self) -> Self {
        self.output_schema = Some(schema_of::<O>);
        self
    }

    /// Hints that the tool does not modify its environment.
    pub fn read_only(mut self) -> Self {
        self.annotations
            .get_or_insert_with(empty_annotations)
            .read_only_hint = Some(true);
        self
    }

    /// Hints that the tool may perform destructive updates.
    pub fn destructive(mut self) -> Self {
        self.annotations
            .get_or_insert_with(empty_annotations)
            .destructive_hint = Some(true);
        self
    }

    fn descriptor(&self) -> wit::Tool {
        wit::Tool {
            name: self.name.to_owned(),
            title: self.title.map(str::to_owned),
            description: self.description.to_owned(),
            input_schema: (self.input_schema)().to_string(),
            output_schema: self.output_schema.map(|s| s().to_string()),
            annotations: self.annotations.clone(),
            icons: Vec::new(),
            stateful: self.stateful,
        }
    }
}

fn empty_annotations() -> wit::ToolAnnotations {
    wit::ToolAnnotations {
        title: None,
        read_only_hint: None,
        destructive_hint: None,
        idempotent_hint: None,
        open_world_hint: None,
    }
}

/// JSON Schema 2020-12 of `T`, without the `$schema` and `title` noise.
fn schema_of<T: schemars::JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.meta_schema = None)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("title");
        // A unit struct's schema is `null`-typed; tools take an object.
        if object.get("type") == Some(&Value::String("null".to_owned())) {
            object.insert("type".to_owned(), Value::String("object".to_owned()));
        }
    }
    schema
}

/// Descriptors of `tools`, for `list-tools`.
pub fn describe(tools: &[Tool]) -> Vec<wit::Tool> {
    tools.iter().map(Tool::descriptor).collect()
}

/// Runs the tool called `name` with JSON `arguments` and the answers of an
/// earlier round, for `call-tool`.
///
/// # Errors
/// `not-found` for an unknown tool, `invalid-params` for arguments that are
/// not JSON or do not fit the tool's type, and whatever the handler returns.
pub fn dispatch(
    tools: Vec<Tool>,
    name: &str,
    arguments: &str,
    input: Option<InputAnswers>,
) -> Result<ToolOutcome, Error> {
    let tool = tools
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| Error::NotFound(format!("no tool named {name}")))?;
    let arguments: Value = if arguments.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(arguments)
            .map_err(|e| Error::InvalidParams(format!("arguments are not JSON: {e}")))?
    };
    Ok(match (tool.handler)(arguments, &Input::from_wit(input))? {
        Outcome::Done(result) => ToolOutcome::Done(result),
        Outcome::Ask(ask) => ToolOutcome::Input(ask.into_wit()),
    })
}

/// A successful result with one text block.
pub fn text(text: impl Into<String>) -> CallResult {
    CallResult {
        content: vec![text_block(text.into())],
        structured_content: None,
        is_error: false,
    }
}

/// A tool error the model should see: one text block, `is-error` set.
pub fn error_text(text: impl Into<String>) -> CallResult {
    CallResult {
        content: vec![text_block(text.into())],
        structured_content: None,
        is_error: true,
    }
}

/// A structured result: `value` as `structuredContent`, and as JSON text for
/// clients that only read `content`.
///
/// # Errors
/// `failed` if `value` cannot be serialised.
pub fn structured<T: Serialize>(value: &T) -> ToolResult {
    let json = serde_json::to_string(value).map_err(|e| Error::Failed(e.to_string()))?;
    Ok(CallResult {
        content: vec![text_block(json.clone())],
        structured_content: Some(json),
        is_error: false,
    })
}

fn text_block(text: String) -> Content {
    Content::Text(TextContent {
        text,
        annotations: None,
    })
}
