// berth JS SDK: resources (by URI and by URI template), prompts and
// completion, with the WIT `resources`, `prompts` and `completion` exports
// (world `plugin`; a `tools-plugin` build ignores them).

import { witContent, witContents } from "./content.js";
import { callHandler, guard, invalidParams, notFound } from "./errors.js";
import { Ask, Input } from "./input.js";
import { witIcons } from "./tools.js";

const concrete = [];
const templates = [];
const promptList = [];
let lister = null;
let completer = null;

function witResource(spec, uriKey) {
  const r = {
    [uriKey]: spec[uriKey],
    name: spec.name,
    title: spec.title ?? null,
    description: spec.description ?? null,
    mimeType: spec.mimeType ?? null,
    annotations: null,
    icons: witIcons(spec.icons),
  };
  if (uriKey === "uri") r.size = spec.size ?? null;
  return r;
}

/** Registers the resource `{ uri, name, title?, description?, mimeType?,
 * size? }`, read by `reader(uri)`. */
export function resource(spec, reader) {
  concrete.push({ spec, descriptor: witResource(spec, "uri"), reader });
}

/** Registers resources matching `{ uriTemplate, name, ... }` (RFC 6570
 * level 1: `{var}` is one or more characters other than `/`), read by
 * `reader(uri, vars)`. */
export function template(spec, reader) {
  templates.push({ spec, descriptor: witResource(spec, "uriTemplate"), reader });
}

/** Replaces the listed resources with `fn()`'s `[{ uri, name, ... }]`
 * (for resources that live in state; read them through a template). */
export function listResources(fn) {
  lister = fn;
}

/** The variables of `uri` if it matches `tpl`, else null (the same rule
 * as the host's `uri_template.rs`). */
export function matchTemplate(tpl, uri) {
  const vars = {};
  let rest = uri;
  let t = tpl;
  while (t) {
    if (t[0] === "{") {
      const close = t.indexOf("}");
      if (close < 0) return null;
      const name = t.slice(1, close);
      t = t.slice(close + 1);
      const brace = t.indexOf("{");
      const literal = brace < 0 ? t : t.slice(0, brace);
      let end = literal ? rest.indexOf(literal) : rest.indexOf("/");
      if (end < 0) {
        if (literal) return null;
        end = rest.length;
      }
      const value = rest.slice(0, end);
      if (!value || value.includes("/")) return null;
      vars[name] = value;
      rest = rest.slice(end);
    } else {
      const brace = t.indexOf("{");
      const literal = brace < 0 ? t : t.slice(0, brace);
      if (!rest.startsWith(literal)) return null;
      rest = rest.slice(literal.length);
      t = t.slice(literal.length);
    }
  }
  return rest === "" ? vars : null;
}

/** WIT contents of what a reader returned: a string (text), bytes (blob),
 * `{ uri?, mimeType?, text | blob }`, or an array of those. */
function toContents(value, uri, mimeType) {
  const one = (v) => {
    if (typeof v === "string") return witContents({ uri, text: v }, mimeType);
    if (v instanceof Uint8Array) return witContents({ uri, blob: v }, mimeType);
    return witContents({ uri, ...v }, mimeType);
  };
  return Array.isArray(value) ? value.map(one) : [one(value)];
}

/** The WIT `resources` interface. */
export const resources = {
  listResources() {
    return guard("listResources", () =>
      lister ? lister().map((s) => witResource(s, "uri")) : concrete.map((r) => r.descriptor),
    );
  },

  listResourceTemplates() {
    return templates.map((t) => t.descriptor);
  },

  readResource(uri) {
    return guard(`resource ${uri}`, () => {
      const r = concrete.find((r) => r.spec.uri === uri);
      if (r) return toContents(callHandler(`resource ${uri}`, r.reader, uri), uri, r.spec.mimeType);
      for (const t of templates) {
        const vars = matchTemplate(t.spec.uriTemplate, uri);
        if (vars) return toContents(callHandler(`resource ${uri}`, t.reader, uri, vars), uri, t.spec.mimeType);
      }
      throw notFound(`no resource at ${uri}`);
    });
  },
};

/** Registers the prompt `{ name, title?, description?, arguments?: [{ name,
 * title?, description?, required? }] }`. `handler(args, input)` gets the
 * arguments as an object and returns a string (one user message), an array
 * of `{ role, content }` (content: a string or a content block),
 * `{ description?, messages }`, or `ask()...`. */
export function prompt(spec, handler) {
  const args = (spec.arguments ?? []).map((a) => ({
    name: a.name,
    title: a.title ?? null,
    description: a.description ?? null,
    required: !!a.required,
  }));
  const descriptor = {
    name: spec.name,
    title: spec.title ?? null,
    description: spec.description ?? null,
    arguments: args,
    icons: witIcons(spec.icons),
  };
  promptList.push({ descriptor, handler });
}

const witMessage = (m) => ({ role: m.role ?? "user", content: witContent(m.content) });

function toPromptResult(value) {
  if (typeof value === "string") value = [{ role: "user", content: value }];
  if (Array.isArray(value)) value = { messages: value };
  return { description: value.description ?? null, messages: value.messages.map(witMessage) };
}

/** The WIT `prompts` interface. */
export const prompts = {
  listPrompts() {
    return promptList.map((p) => p.descriptor);
  },

  getPrompt(name, pairs, input) {
    return guard(`prompt ${name}`, () => {
      const p = promptList.find((p) => p.descriptor.name === name);
      if (!p) throw notFound(`no prompt named ${name}`);
      const args = Object.fromEntries(pairs);
      for (const a of p.descriptor.arguments) {
        if (a.required && !(a.name in args)) throw invalidParams(`prompt ${name} needs the argument ${a.name}`);
      }
      const value = callHandler(`prompt ${name}`, p.handler, args, new Input(input));
      if (value instanceof Ask) return { tag: "input", val: value.wit() };
      return { tag: "done", val: toPromptResult(value) };
    });
  },
};

/** Most completion values the host passes on. */
export const MAX_COMPLETIONS = 100;

/** Sets the completer: `fn(ref, argument, value, context)` returns the
 * suggested values, best first. `ref` is `{ prompt: name }` or
 * `{ resourceTemplate: uriTemplate }`; `context` holds the arguments
 * already resolved. */
export function complete(fn) {
  completer = fn;
}

/** The WIT `completion` interface. */
export const completion = {
  complete(reference, argument, value, pairs) {
    return guard("complete", () => {
      if (!completer) return { values: [], total: 0, hasMore: false };
      const ref = reference.tag === "prompt" ? { prompt: reference.val } : { resourceTemplate: reference.val };
      const values = callHandler("complete", completer, ref, argument, value, Object.fromEntries(pairs)).map(String);
      return { values: values.slice(0, MAX_COMPLETIONS), total: values.length, hasMore: values.length > MAX_COMPLETIONS };
    });
  },
};
