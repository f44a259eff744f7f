//! `{{name}}`: a berth plugin. Each tool is a function and a line in
//! `tools!` below; `berth build` makes `{{name}}.wasm`.

use berth_plugin::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
    /// How many exclamation marks (default 1).
    #[serde(default)]
    excitement: Option<u8>,
}

fn greet(args: GreetArgs) -> ToolResult {
    let marks = "!".repeat(usize::from(args.excitement.unwrap_or(1)));
    Ok(text(format!("Hello, {}{marks}", args.name)))
}

/// No arguments.
#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

fn count(_: NoArgs) -> ToolResult {
    let n = kv::get::<u64>(Scope::Session, "count")?.unwrap_or(0) + 1;
    kv::set(Scope::Session, "count", &n)?;
    log::info(&format!("counted to {n}"));
    Ok(text(n.to_string()))
}

berth_plugin::tools![
    tool("greet", "Greets someone by name", greet).read_only(),
    tool("count", "Counts calls in this session", count).stateful(),
];
