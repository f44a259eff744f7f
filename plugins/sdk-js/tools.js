// berth JS SDK: tool registration, and the WIT `tools` export that lists
// and calls them.
//
// `tool()` runs when the plugin module is evaluated, which happens once at
// build time (the initialised engine is snapshotted); every call then
// starts from that snapshot.

import { toCallResult } from "./content.js";
import { callHandler, guard, invalidParams, notFound } from "./errors.js";
import { Ask, Input } from "./input.js";

const registry = new Map();

/**
 * Registers a tool.
 *
 * `spec`: `name`, `description`, and optionally `title`, `inputSchema` (a
 * JSON Schema object; default: any object), `outputSchema`, `stateful`
 * (keeps state in `kv.session`), `readOnly`, `destructive`, `idempotent`,
 * `openWorld` (behaviour hints) and `icons` (`[{ src, mimeType, sizes }]`).
 *
 * `handler(args, input)` gets the arguments object and the answers of
 * earlier rounds (see `ask`). It returns a string (text), a plain object
 * (structured content plus its JSON text), `result({...})`, `errorText(s)`,
 * `ask()...`, or nothing; it throws `UserError` for errors the client sees.
 */
export function tool(spec, handler) {
  const { name, description } = spec;
  if (typeof name !== "string" || !name) throw new TypeError("tool needs a name");
  if (typeof description !== "string") throw new TypeError(`tool ${name} needs a description`);
  if (typeof handler !== "function") throw new TypeError(`tool ${name} needs a handler`);
  if (registry.has(name)) throw new TypeError(`tool ${name} is registered twice`);
  registry.set(name, { descriptor: descriptor(spec), handler });
}

const hint = (v) => (v === undefined ? null : !!v);

function descriptor(spec) {
  const hints = [spec.readOnly, spec.destructive, spec.idempotent, spec.openWorld];
  const annotations = hints.every((h) => h === undefined)
    ? null
    : {
        title: null,
        readOnlyHint: hint(spec.readOnly),
        destructiveHint: hint(spec.destructive),
        idempotentHint: hint(spec.idempotent),
        openWorldHint: hint(spec.openWorld),
      };
  return {
    name: spec.name,
    title: spec.title ?? null,
    description: spec.description,
    inputSchema: JSON.stringify(spec.inputSchema ?? { type: "object" }),
    outputSchema: spec.outputSchema ? JSON.stringify(spec.outputSchema) : null,
    annotations,
    icons: witIcons(spec.icons),
    stateful: !!spec.stateful,
  };
}

/** WIT icons of `[{ src, mimeType?, sizes?, theme? }]`. */
export function witIcons(icons = []) {
  return icons.map((i) => ({
    src: i.src,
    mimeType: i.mimeType ?? null,
    sizes: i.sizes ?? [],
    theme: i.theme ?? null,
  }));
}

/** The WIT `tools` interface. */
export const tools = {
  listTools() {
    return guard("listTools", () => [...registry.values()].map((t) => t.descriptor));
  },

  callTool(name, json, input) {
    return guard(`tool ${name}`, () => {
      const t = registry.get(name);
      if (!t) throw notFound(`no tool named ${name}`);
      let args = {};
      if (json.trim() !== "") {
        try {
          args = JSON.parse(json);
        } catch (e) {
          throw invalidParams(`arguments are not JSON: ${e.message}`);
        }
      }
      const value = callHandler(`tool ${name}`, t.handler, args, new Input(input));
      if (value instanceof Ask) return { tag: "input", val: value.wit() };
      return { tag: "done", val: toCallResult(value) };
    });
  },
};
