// berth JS SDK: write berth plugins (MCP tools as WebAssembly components)
// in JavaScript. Import it as "berth":
//
//   import { tool, log } from "berth";
//
//   tool({
//     name: "greet",
//     description: "Greets someone by name",
//     inputSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
//   }, ({ name }) => {
//     log.info(`greeting ${name}`);
//     return `Hello, ${name}!`;
//   });
//
// `berth build` copies this package to <project>/node_modules/berth/ and
// builds the component with componentize-qjs (QuickJS); the WIT exports
// the component needs come from ./exports.js. Handlers are synchronous.

import "./globals.js";

export { tool } from "./tools.js";
export { result, text, errorText, structured } from "./content.js";
export { UserError, invalidParams, notFound, denied } from "./errors.js";
export { ask } from "./input.js";
export { log, progress, cancelled, principal, clientSupports, resourceUpdated, kv } from "./context.js";
export { resource, template, listResources, prompt, complete, MAX_COMPLETIONS } from "./resources.js";
export { utf8Encode, utf8Decode } from "./utf8.js";
