//! `hello`: greets people. The smallest useful berth plugin.

use berth_plugin::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct Args {
    /// Who to greet.
    name: String,
}

fn greet(args: Args) -> ToolResult {
    log::debug("composing a greeting");
    log::info(&format!("greeting {}", args.name));
    Ok(text(format!("Hello, {}!", args.name)))
}

berth_plugin::tools![tool("greet", "Greets someone by name", greet).read_only()];
