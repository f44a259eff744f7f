// berth JS SDK: content blocks and tool results.
//
// Handlers write content the way MCP shows it (`{ type: "text", text }`,
// `{ type: "image", data, mimeType }`, ...); this module turns it into the
// WIT records and variants, with every optional field an explicit `null`.

const annotations = (a) =>
  a ? { audience: a.audience ?? [], priority: a.priority ?? null, lastModified: a.lastModified ?? null } : null;

/** Bytes from a Uint8Array, an array of numbers or a base64 string. */
function bytes(data) {
  if (typeof data !== "string") return data;
  const raw = atob(data);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** WIT `resource-contents` of `{ uri, mimeType?, text }` or
 * `{ uri, mimeType?, blob }` (blob: bytes or base64). */
export function witContents(c, mimeType = null) {
  const mime = c.mimeType ?? mimeType;
  if (typeof c.text === "string") return { tag: "text", val: { uri: c.uri, mimeType: mime, text: c.text } };
  if (c.blob != null) return { tag: "blob", val: { uri: c.uri, mimeType: mime, blob: bytes(c.blob) } };
  throw new TypeError(`resource contents of ${c.uri} have neither text nor blob`);
}

/** WIT `content` of one block: a string is text. */
export function witContent(block) {
  if (typeof block === "string") block = { type: "text", text: block };
  const a = annotations(block.annotations);
  switch (block.type) {
    case "text":
      return { tag: "text", val: { text: String(block.text), annotations: a } };
    case "image":
    case "audio":
      return { tag: block.type, val: { data: bytes(block.data), mimeType: block.mimeType, annotations: a } };
    case "resource_link":
      return {
        tag: "resource-link",
        val: {
          uri: block.uri,
          name: block.name,
          title: block.title ?? null,
          description: block.description ?? null,
          mimeType: block.mimeType ?? null,
          size: block.size ?? null,
          annotations: a,
        },
      };
    case "resource":
      return { tag: "resource", val: { contents: witContents(block.resource), annotations: a } };
    default:
      throw new TypeError(`unknown content type ${block.type}`);
  }
}

/** A finished tool result (see `result`). */
export class ToolResult {
  constructor(wit) {
    this.wit = wit;
  }
}

/** A tool result of `content` (blocks or strings), optional
 * `structuredContent` (any JSON value) and `isError`. */
export function result({ content = [], structuredContent, isError = false } = {}) {
  return new ToolResult({
    content: content.map(witContent),
    structuredContent: structuredContent === undefined ? null : JSON.stringify(structuredContent),
    isError: !!isError,
  });
}

/** A result of one text block. */
export const text = (t) => result({ content: [String(t)] });

/** An error the model should see and may correct: one text block, `isError`. */
export const errorText = (t) => result({ content: [String(t)], isError: true });

/** `value` as structured content, and as its JSON text for clients that
 * only read `content` (like the Rust SDK's `structured`). */
export function structured(value) {
  const json = JSON.stringify(value);
  return new ToolResult({ content: [witContent(json)], structuredContent: json, isError: false });
}

const isPlainObject = (v) => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** The WIT `call-result` of what a tool handler returned: a string is text,
 * a plain object is structured content, nothing is no content, other
 * values are their JSON text. */
export function toCallResult(value) {
  if (value instanceof ToolResult) return value.wit;
  if (value === undefined || value === null) return result().wit;
  if (typeof value === "string") return text(value).wit;
  if (typeof value === "object" && isPlainObject(value)) return structured(value).wit;
  return text(JSON.stringify(value)).wit;
}
