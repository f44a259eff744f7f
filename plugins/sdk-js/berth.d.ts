// Types of the berth JS SDK, for editors (berth build never reads them).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Bytes = Uint8Array | number[];
export type Annotations = { audience?: ("user" | "assistant")[]; priority?: number; lastModified?: string };
export type Icon = { src: string; mimeType?: string; sizes?: string[]; theme?: "light" | "dark" };

/** Resource contents: `text`, or `blob` (bytes or base64). */
export type Contents = { uri?: string; mimeType?: string; text: string } | { uri?: string; mimeType?: string; blob: Bytes | string };

/** A content block as MCP shows it; a string is a text block. */
export type Content =
  | string
  | { type: "text"; text: string; annotations?: Annotations }
  | { type: "image" | "audio"; data: Bytes | string; mimeType: string; annotations?: Annotations }
  | { type: "resource_link"; uri: string; name: string; title?: string; description?: string; mimeType?: string; size?: number; annotations?: Annotations }
  | { type: "resource"; resource: Contents & { uri: string }; annotations?: Annotations };

/** A finished tool result. */
export declare class ToolResult {
  private constructor();
}

/** Questions for the client; the handler runs again with the answers. */
export declare class Ask {
  elicit(key: string, message: string, schema: object): Ask;
  sample(key: string, params: object): Ask;
  sampleText(key: string, prompt: string, maxTokens: number): Ask;
  roots(key: string): Ask;
  state(text: string): Ask;
}

/** The answers to the previous round's questions (none on the first) and
 * its state; earlier answers travel only in `Ask.state`. */
export interface Input {
  readonly first: boolean;
  readonly state: string | null;
  answer(key: string): Json | undefined;
  elicited(key: string): { action: "accept" | "decline" | "cancel"; content?: any } | undefined;
  sampledText(key: string): string | undefined;
  roots(key: string): string[] | undefined;
}

export interface ToolSpec {
  name: string;
  description: string;
  title?: string;
  /** JSON Schema of the arguments object (default: any object). */
  inputSchema?: object;
  outputSchema?: object;
  /** Keeps state in `kv.session`. */
  stateful?: boolean;
  readOnly?: boolean;
  destructive?: boolean;
  idempotent?: boolean;
  openWorld?: boolean;
  icons?: Icon[];
}

/** string: text; plain object: structured content + its JSON text. */
export type ToolReturn = string | object | ToolResult | Ask | void;

export function tool(spec: ToolSpec, handler: (args: any, input: Input) => ToolReturn): void;
export function result(r: { content?: Content[]; structuredContent?: Json; isError?: boolean }): ToolResult;
export function text(text: string): ToolResult;
export function errorText(text: string): ToolResult;
export function structured(value: Json): ToolResult;
export function ask(): Ask;

export type ErrorKind = "failed" | "invalid-params" | "not-found" | "denied";
/** An error written for the client. Anything else thrown is masked as "Internal error". */
export declare class UserError extends Error {
  constructor(message: string, kind?: ErrorKind);
  kind: ErrorKind;
}
export function invalidParams(message: string): UserError;
export function notFound(message: string): UserError;
export function denied(message: string): UserError;

type Level = "debug" | "info" | "notice" | "warning" | "error" | "critical" | "alert" | "emergency";
type LogAt = (message: string, data?: Json) => void;
export const log: ((level: Level, message: string, data?: Json) => void) & { [L in Level | "warn"]: LogAt };
export function progress(value: number, total?: number | null, message?: string | null): void;
export function cancelled(): boolean;
export function principal(): { subject: string; tenant: string; scopes: string[] };
export function clientSupports(feature: "elicitation" | "sampling" | "roots"): boolean;
export function resourceUpdated(uri: string): void;

export interface Store {
  get(key: string): any;
  set(key: string, value: Json, options?: { ttlMs?: number }): void;
  delete(key: string): boolean;
  list(prefix?: string): string[];
  getBytes(key: string): Uint8Array | undefined;
  setBytes(key: string, bytes: Bytes, options?: { ttlMs?: number }): void;
}
export const kv: { session: Store; user: Store };

export interface ResourceSpec { uri: string; name: string; title?: string; description?: string; mimeType?: string; size?: number; icons?: Icon[] }
export interface TemplateSpec { uriTemplate: string; name: string; title?: string; description?: string; mimeType?: string; icons?: Icon[] }
type ReadReturn = string | Uint8Array | Contents | Contents[];
export function resource(spec: ResourceSpec, reader: (uri: string) => ReadReturn): void;
export function template(spec: TemplateSpec, reader: (uri: string, vars: Record<string, string>) => ReadReturn): void;
export function listResources(fn: () => ResourceSpec[]): void;

export interface PromptSpec {
  name: string;
  title?: string;
  description?: string;
  arguments?: { name: string; title?: string; description?: string; required?: boolean }[];
  icons?: Icon[];
}
type Message = { role?: "user" | "assistant"; content: Content };
export function prompt(
  spec: PromptSpec,
  handler: (args: Record<string, string>, input: Input) => string | Message[] | { description?: string; messages: Message[] } | Ask,
): void;
export const MAX_COMPLETIONS: 100;
export function complete(
  fn: (ref: { prompt: string } | { resourceTemplate: string }, argument: string, value: string, context: Record<string, string>) => string[],
): void;

export function utf8Encode(text: string): Uint8Array;
export function utf8Decode(bytes: Bytes): string;
