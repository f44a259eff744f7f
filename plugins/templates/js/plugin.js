// {{name}}: a berth plugin in JavaScript. `berth build` turns this file into
// {{name}}.wasm (see README.md). Handlers are synchronous.

import { tool, log, kv } from "berth";

// Typed arguments: the host checks every call against inputSchema.
tool({
  name: "greet",
  description: "Greets someone by name",
  inputSchema: {
    type: "object",
    properties: {
      name: { type: "string", description: "Who to greet" },
      excited: { type: "boolean", description: "End with an exclamation mark" },
    },
    required: ["name"],
  },
  readOnly: true,
}, ({ name, excited = false }) => `Hello, ${name}${excited ? "!" : "."}`);

// State per session (kv.session), a log message, and a structured result.
tool({
  name: "count",
  description: "Counts the calls of this tool in this session",
  stateful: true,
}, () => {
  const count = (kv.session.get("count") ?? 0) + 1;
  kv.session.set("count", count);
  log.info(`call ${count} in this session`);
  return { count };
});
