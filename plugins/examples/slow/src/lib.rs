//! `slow`: works in steps, reporting progress after each one and stopping
//! early when the client cancels.

use berth_plugin::prelude::*;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct Args {
    /// Number of steps (at most 1000).
    steps: u32,
    /// Milliseconds each step takes (at most 10000).
    step_ms: u64,
}

fn work(args: Args) -> ToolResult {
    if args.steps > 1000 || args.step_ms > 10_000 {
        return Ok(error_text(
            "steps must be at most 1000 and step_ms at most 10000",
        ));
    }
    let total = f64::from(args.steps);
    for step in 0..args.steps {
        if cancelled() {
            log::notice(&format!("cancelled after {step} steps"));
            return Ok(text(format!("cancelled after {step} steps")));
        }
        std::thread::sleep(Duration::from_millis(args.step_ms));
        let done = f64::from(step + 1);
        progress(
            done,
            Some(total),
            Some(&format!("step {} of {}", step + 1, args.steps)),
        );
    }
    Ok(text(format!("done: {} steps", args.steps)))
}

berth_plugin::tools![tool(
    "work",
    "Works for steps × step_ms milliseconds, reporting progress",
    work
)];
