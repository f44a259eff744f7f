// hello-js: greets people. The smallest useful berth plugin, in JavaScript.

import { tool, log } from "berth";

tool({
  name: "greet",
  description: "Greets someone by name",
  inputSchema: {
    type: "object",
    properties: { name: { type: "string", description: "Who to greet." } },
    required: ["name"],
  },
  readOnly: true,
}, ({ name }) => {
  log.debug("composing a greeting");
  log.info(`greeting ${name}`);
  return `Hello, ${name}!`;
});
