//! `conformance`: exactly the tools, resources, prompts and completions the
//! official MCP conformance suite calls (its manifest sets an empty prefix,
//! so the names are the suite's), including `test_mirrored_header`, whose
//! `x-mcp-header` argument the suite's SEP-2243 scenario looks for. Served
//! by `cargo xtask test` to the suite, in both protocol eras.

use berth_plugin::bindings::exports::berth::plugin::completion::{CompletionResult, Reference};
use berth_plugin::prelude::*;
use berth_plugin::prompt::{messages, user_image, user_resource, user_text};
use serde_json::{Value, json};
use std::time::Duration;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0,
    0, 0, 31, 21, 196, 137, 0, 0, 0, 13, 73, 68, 65, 84, 120, 156, 99, 248, 207, 192, 240, 31, 0,
    5, 0, 1, 255, 137, 153, 61, 29, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// Ten samples of silence, 8 kHz mono 16-bit WAV.
const WAV: &[u8] = &[
    82, 73, 70, 70, 56, 0, 0, 0, 87, 65, 86, 69, 102, 109, 116, 32, 16, 0, 0, 0, 1, 0, 1, 0, 64,
    31, 0, 0, 128, 62, 0, 0, 2, 0, 16, 0, 100, 97, 116, 97, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// No arguments.
#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

/// A prompt for the client's model.
#[derive(Deserialize, JsonSchema)]
struct PromptArg {
    /// The prompt to send to the LLM
    prompt: String,
}

/// A message for the user.
#[derive(Deserialize, JsonSchema)]
struct MessageArg {
    /// The message to show the user
    message: String,
}

fn done(result: CallResult) -> ToolAsk {
    Ok(Outcome::Done(result))
}

fn blocks(content: Vec<Content>) -> CallResult {
    CallResult {
        content,
        structured_content: None,
        is_error: false,
    }
}

fn image() -> Content {
    Content::Image(berth_plugin::BinaryContent {
        data: PNG.to_vec(),
        mime_type: "image/png".to_owned(),
        annotations: None,
    })
}

fn embedded(uri: &str, mime: &str, text: &str) -> Content {
    Content::Resource(berth_plugin::EmbeddedResource {
        contents: text_contents(uri, mime, text),
        annotations: None,
    })
}

fn text_block(text: &str) -> Content {
    Content::Text(berth_plugin::TextContent {
        text: text.to_owned(),
        annotations: None,
    })
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// Arguments of `test_mirrored_header` (SEP-2243).
#[derive(Deserialize, JsonSchema)]
struct Routed {
    /// Where to run. Travels in the `Mcp-Param-Region` header too, so a
    /// gateway can route on it without reading the body.
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
}

fn with_logging(_: NoArgs) -> ToolResult {
    log::info("Tool execution started");
    sleep_ms(50);
    log::info("Tool processing data");
    sleep_ms(50);
    log::info("Tool execution completed");
    Ok(text("Tool with logging executed successfully"))
}

fn with_progress(_: NoArgs) -> ToolResult {
    progress(0.0, Some(100.0), None);
    sleep_ms(50);
    progress(50.0, Some(100.0), None);
    sleep_ms(50);
    progress(100.0, Some(100.0), None);
    Ok(text("Tool with progress executed successfully"))
}

fn sampling(args: PromptArg, input: &Input) -> ToolAsk {
    match input.sampled_text("llm") {
        Some(answer) => done(text(format!("LLM response: {answer}"))),
        None if input.answer("llm").is_some() => done(text("LLM response: (no text)")),
        None => Ok(Ask::new().sample_text("llm", &args.prompt, 100).into()),
    }
}

/// Elicitation: ask with `schema`, then report what the user did.
fn elicit(input: &Input, message: &str, schema: Value) -> ToolAsk {
    match input.answer("user") {
        Some(answer) => {
            let action = answer["action"].as_str().unwrap_or("cancel");
            let content = answer.get("content").cloned().unwrap_or(json!({}));
            done(text(format!(
                "User response: action={action}, content={content}"
            )))
        }
        None => Ok(Ask::new().elicit("user", message, schema).into()),
    }
}

fn elicitation(args: MessageArg, input: &Input) -> ToolAsk {
    elicit(
        input,
        &args.message,
        json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}
            },
            "required": ["username", "email"]
        }),
    )
}

fn sep1034_defaults(_: NoArgs, input: &Input) -> ToolAsk {
    elicit(
        input,
        "Please review and update the form fields with defaults",
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active"
                },
                "verified": {"type": "boolean", "description": "Verification status", "default": true}
            },
            "required": []
        }),
    )
}

fn sep1330_enums(_: NoArgs, input: &Input) -> ToolAsk {
    elicit(
        input,
        "Please select options from the enum fields",
        json!({
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string",
                    "description": "Select one option",
                    "enum": ["option1", "option2", "option3"]
                },
                "titledSingle": {
                    "type": "string",
                    "description": "Select one option with titles",
                    "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"}
                    ]
                },
                "legacyEnum": {
                    "type": "string",
                    "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]
                },
                "untitledMulti": {
                    "type": "array",
                    "description": "Select multiple options",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]}
                },
                "titledMulti": {
                    "type": "array",
                    "description": "Select multiple options with titles",
                    "items": {
                        "anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"}
                        ]
                    }
                }
            },
            "required": []
        }),
    )
}

fn string_schema(field: &str) -> Value {
    json!({
        "type": "object",
        "properties": {field: {"type": "string"}},
        "required": [field]
    })
}

/// SEP-2322: one elicitation, then a greeting.
fn mrtr_elicitation(_: NoArgs, input: &Input) -> ToolAsk {
    match input.answer("user_name") {
        Some(answer) => {
            let name = answer["content"]["name"].as_str().unwrap_or("stranger");
            done(text(format!("Hello, {name}!")))
        }
        None => Ok(Ask::new()
            .elicit("user_name", "What is your name?", string_schema("name"))
            .into()),
    }
}

fn mrtr_sampling(_: NoArgs, input: &Input) -> ToolAsk {
    match input.sampled_text("capital_question") {
        Some(answer) => done(text(format!("The model said: {answer}"))),
        None => Ok(Ask::new()
            .sample_text("capital_question", "What is the capital of France?", 100)
            .into()),
    }
}

fn mrtr_roots(_: NoArgs, input: &Input) -> ToolAsk {
    match input.roots("client_roots") {
        Some(roots) => done(text(format!("Client roots: {}", roots.join(", ")))),
        None => Ok(Ask::new().roots("client_roots").into()),
    }
}

fn mrtr_request_state(_: NoArgs, input: &Input) -> ToolAsk {
    match (input.answer("confirm"), input.state()) {
        (Some(_), Some("awaiting-confirmation")) => done(text("state-ok: confirmed")),
        _ => Ok(Ask::new()
            .elicit(
                "confirm",
                "Please confirm",
                json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}),
            )
            .state("awaiting-confirmation")
            .into()),
    }
}

fn mrtr_multiple(_: NoArgs, input: &Input) -> ToolAsk {
    let keys = ["user_name", "greeting", "client_roots"];
    if keys.iter().all(|k| input.answer(k).is_some()) {
        let name = input
            .answer("user_name")
            .map_or(Value::Null, |a| a["content"]["name"].clone());
        let greeting = input
            .sampled_text("greeting")
            .unwrap_or_default()
            .to_owned();
        let roots = input.roots("client_roots").unwrap_or_default();
        return done(text(format!(
            "name={name}, greeting={greeting}, roots={}",
            roots.join(",")
        )));
    }
    Ok(Ask::new()
        .elicit("user_name", "What is your name?", string_schema("name"))
        .sample_text("greeting", "Generate a greeting", 50)
        .roots("client_roots")
        .state("multiple")
        .into())
}

fn mrtr_multi_round(_: NoArgs, input: &Input) -> ToolAsk {
    match input.state() {
        Some(state) if state.starts_with("round-2:") && input.answer("step2").is_some() => {
            let name = &state["round-2:".len()..];
            let color = input
                .answer("step2")
                .map_or(Value::Null, |a| a["content"]["color"].clone());
            done(text(format!("{name} likes {color}")))
        }
        Some("round-1") if input.answer("step1").is_some() => {
            let name = input
                .answer("step1")
                .and_then(|a| a["content"]["name"].as_str())
                .unwrap_or("someone")
                .to_owned();
            Ok(Ask::new()
                .elicit(
                    "step2",
                    "Step 2: What is your favorite color?",
                    string_schema("color"),
                )
                .state(format!("round-2:{name}"))
                .into())
        }
        _ => Ok(Ask::new()
            .elicit("step1", "Step 1: What is your name?", string_schema("name"))
            .state("round-1")
            .into()),
    }
}

fn mrtr_tampered(_: NoArgs, input: &Input) -> ToolAsk {
    match input.answer("confirm") {
        Some(_) => done(text("confirmed")),
        None => Ok(Ask::new()
            .elicit(
                "confirm",
                "Please confirm",
                json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}),
            )
            .state("integrity-protected")
            .into()),
    }
}

/// Asks only for what the client declared it can answer.
fn mrtr_capabilities(_: NoArgs, input: &Input) -> ToolAsk {
    if !input.is_empty() {
        return done(text("thanks"));
    }
    let mut ask = Ask::new();
    if berth_plugin::input::can_elicit() {
        ask = ask.elicit("user_name", "What is your name?", string_schema("name"));
    }
    if berth_plugin::input::can_sample() {
        ask = ask.sample_text("greeting", "Generate a greeting", 50);
    }
    if berth_plugin::input::can_list_roots() {
        ask = ask.roots("client_roots");
    }
    Ok(ask.into())
}

/// Needs the client's model whatever the client declared: a client without
/// sampling gets the host's "missing capability" error.
fn missing_capability(_: NoArgs, input: &Input) -> ToolAsk {
    match input.sampled_text("needed") {
        Some(answer) => done(text(answer)),
        None => Ok(Ask::new().sample_text("needed", "Say hello", 10).into()),
    }
}

fn streaming_elicitation(_: NoArgs, input: &Input) -> ToolAsk {
    log::info("asking the user");
    mrtr_elicitation(NoArgs {}, input)
}

fn logging_tool(_: NoArgs) -> ToolResult {
    log::info("a log message only clients that asked for logs receive");
    Ok(text("logged"))
}

fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
            }
        },
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

struct Conformance;

impl Plugin for Conformance {
    fn tools() -> Vec<Tool> {
        vec![
            tool(
                "test_simple_text",
                "Returns a simple text content block",
                |_: NoArgs| Ok(text("This is a simple text response for testing.")),
            ),
            tool(
                "test_image_content",
                "Returns an image content block (1x1 PNG)",
                |_: NoArgs| Ok(blocks(vec![image()])),
            ),
            tool(
                "test_audio_content",
                "Returns an audio content block (audio/wav)",
                |_: NoArgs| {
                    Ok(blocks(vec![Content::Audio(berth_plugin::BinaryContent {
                        data: WAV.to_vec(),
                        mime_type: "audio/wav".to_owned(),
                        annotations: None,
                    })]))
                },
            ),
            tool(
                "test_embedded_resource",
                "Returns an embedded resource content block",
                |_: NoArgs| {
                    Ok(blocks(vec![embedded(
                        "test://embedded-resource",
                        "text/plain",
                        "This is an embedded resource content.",
                    )]))
                },
            ),
            tool(
                "test_multiple_content_types",
                "Returns text, image and embedded resource blocks",
                |_: NoArgs| {
                    Ok(blocks(vec![
                        text_block("Multiple content types test:"),
                        image(),
                        embedded(
                            "test://mixed-content-resource",
                            "application/json",
                            r#"{"test":"data","value":123}"#,
                        ),
                    ]))
                },
            ),
            tool(
                "test_tool_with_logging",
                "Sends 3 info log notifications while running",
                with_logging,
            ),
            tool(
                "test_tool_with_progress",
                "Sends progress 0/100, 50/100, 100/100 when given a progressToken",
                with_progress,
            ),
            tool(
                "test_error_handling",
                "Always returns isError: true",
                |_: NoArgs| {
                    Ok(error_text(
                        "This tool intentionally returns an error for testing",
                    ))
                },
            ),
            tool_with_input(
                "test_sampling",
                "Asks the client for an LLM completion (sampling/createMessage)",
                sampling,
            ),
            tool_with_input(
                "test_elicitation",
                "Asks the user for a username and email",
                elicitation,
            ),
            tool_with_input(
                "test_elicitation_sep1034_defaults",
                "Asks the user with a form whose fields have defaults (SEP-1034)",
                sep1034_defaults,
            ),
            tool_with_input(
                "test_elicitation_sep1330_enums",
                "Asks the user with the five enum shapes of SEP-1330",
                sep1330_enums,
            ),
            tool(
                "json_schema_2020_12_tool",
                "Tool with JSON Schema 2020-12 features",
                |_: Value| Ok(text("ok")),
            )
            .input_schema(json_schema_2020_12),
            tool(
                "test_reconnection",
                "Takes a moment, then answers",
                |_: NoArgs| {
                    sleep_ms(100);
                    Ok(text("Reconnection test completed successfully"))
                },
            ),
            tool_with_input(
                "test_input_required_result_elicitation",
                "Asks the user's name (input_required), then greets them",
                mrtr_elicitation,
            ),
            tool_with_input(
                "test_input_required_result_sampling",
                "Asks the client's model a question (input_required)",
                mrtr_sampling,
            ),
            tool_with_input(
                "test_input_required_result_list_roots",
                "Asks for the client's roots (input_required)",
                mrtr_roots,
            ),
            tool_with_input(
                "test_input_required_result_request_state",
                "Asks for confirmation and checks its requestState on the retry",
                mrtr_request_state,
            ),
            tool_with_input(
                "test_input_required_result_multiple_inputs",
                "Asks the user, the model and the roots at once",
                mrtr_multiple,
            ),
            tool_with_input(
                "test_input_required_result_multi_round",
                "Asks two questions in two rounds",
                mrtr_multi_round,
            ),
            tool_with_input(
                "test_input_required_result_tampered_state",
                "Asks with requestState the host protects",
                mrtr_tampered,
            ),
            tool_with_input(
                "test_input_required_result_capabilities",
                "Asks only what the client declared it can answer",
                mrtr_capabilities,
            ),
            tool_with_input(
                "test_missing_capability",
                "Needs sampling, whatever the client declared",
                missing_capability,
            ),
            tool_with_input(
                "test_streaming_elicitation",
                "Logs, then asks the user (input_required)",
                streaming_elicitation,
            ),
            tool("test_logging_tool", "Logs one info message", logging_tool),
            tool(
                "test_mirrored_header",
                "Names the region it was given; the region is mirrored into Mcp-Param-Region",
                |r: Routed| Ok(text(format!("region: {}", r.region))),
            ),
        ]
    }

    fn resources() -> Vec<Resource> {
        vec![
            resource("test://static-text", "static-text", |uri| {
                Ok(vec![text_contents(
                    uri,
                    "text/plain",
                    "This is the content of the static text resource.",
                )])
            })
            .mime("text/plain")
            .description("A static text resource"),
            resource("test://static-binary", "static-binary", |uri| {
                Ok(vec![blob_contents(uri, "image/png", PNG.to_vec())])
            })
            .mime("image/png")
            .description("A static binary resource (1x1 PNG)"),
            resource("test://watched-resource", "watched-resource", |uri| {
                Ok(vec![text_contents(
                    uri,
                    "text/plain",
                    "Watched resource content.",
                )])
            })
            .mime("text/plain")
            .description("A resource to subscribe to"),
        ]
    }

    fn templates() -> Vec<Template> {
        vec![
            template("test://template/{id}/data", "template", |uri, vars| {
                let id = vars.get("id").unwrap_or_default();
                let body =
                    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                Ok(vec![text_contents(
                    uri,
                    "application/json",
                    body.to_string(),
                )])
            })
            .mime("application/json")
            .description("A resource template with an id"),
        ]
    }

    fn prompts() -> Vec<Prompt> {
        vec![
            prompt(
                "test_simple_prompt",
                "A simple prompt without arguments",
                |_| {
                    Ok(messages(vec![user_text(
                        "This is a simple prompt for testing.",
                    )]))
                },
            ),
            prompt(
                "test_prompt_with_arguments",
                "A prompt with two required arguments",
                |args| {
                    Ok(messages(vec![user_text(format!(
                        "Prompt with arguments: arg1='{}', arg2='{}'",
                        args.get("arg1").unwrap_or_default(),
                        args.get("arg2").unwrap_or_default()
                    ))]))
                },
            )
            .arg("arg1", "First test argument", true)
            .arg("arg2", "Second test argument", true),
            prompt(
                "test_prompt_with_embedded_resource",
                "A prompt that embeds a resource",
                |args| {
                    let uri = args.get("resourceUri").unwrap_or_default();
                    Ok(messages(vec![
                        user_resource(text_contents(
                            uri,
                            "text/plain",
                            "Embedded resource content for testing.",
                        )),
                        user_text("Please process the embedded resource above."),
                    ]))
                },
            )
            .arg("resourceUri", "URI of the resource to embed", true),
            prompt(
                "test_prompt_with_image",
                "A prompt that shows an image",
                |_| {
                    Ok(messages(vec![
                        user_image(PNG.to_vec(), "image/png"),
                        user_text("Please analyze the image above."),
                    ]))
                },
            ),
            prompt_with_input(
                "test_input_required_result_prompt",
                "Asks the user for context (input_required), then renders",
                |_, input| match input.answer("user_context") {
                    Some(answer) => {
                        let context = answer["content"]["context"].as_str().unwrap_or("none");
                        Ok(Outcome::Done(messages(vec![user_text(format!(
                            "Use this context: {context}"
                        ))])))
                    }
                    None => Ok(Ask::new()
                        .elicit(
                            "user_context",
                            "What context should the prompt use?",
                            string_schema("context"),
                        )
                        .into()),
                },
            ),
        ]
    }

    fn complete(
        reference: &Reference,
        argument: &str,
        value: &str,
        _context: &[(String, String)],
    ) -> Result<CompletionResult, Error> {
        let candidates: &[&str] = match (reference, argument) {
            (Reference::Prompt(name), "arg1") if name == "test_prompt_with_arguments" => {
                &["paris", "park", "party", "test", "testing"]
            }
            (Reference::ResourceTemplate(t), "id") if t == "test://template/{id}/data" => {
                &["1", "123", "42"]
            }
            _ => &[],
        };
        Ok(completions(
            candidates
                .iter()
                .filter(|c| c.starts_with(value))
                .map(|c| (*c).to_owned())
                .collect(),
        ))
    }
}

berth_plugin::export!(Conformance);
