// berth JS SDK: what the host offers during a call (the WIT `context`
// import): log, progress, cancellation, the caller, client features and
// key-value state. QuickJS needs every argument, optional ones as `null`.

import * as host from "berth:plugin/context@0.2.0";
import { UserError } from "./errors.js";
import { utf8Decode, utf8Encode } from "./utf8.js";

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** Logs `message` at `level`; `data` is optional detail, sent as JSON. */
export function log(level, message, data) {
  if (!LEVELS.includes(level)) throw new TypeError(`unknown log level ${level}`);
  host.log(level, String(message), data === undefined ? null : JSON.stringify(data));
}
for (const level of LEVELS) log[level] = (message, data) => log(level, message, data);
log.warn = log.warning;

/** Reports progress (a no-op unless the client asked for it). */
export function progress(value, total, message) {
  host.progress(value, total ?? null, message ?? null);
}

/** True once the client has cancelled this request. */
export function cancelled() {
  return host.cancelled();
}

/** The caller: `{ subject, tenant, scopes }`. */
export function principal() {
  return host.principal();
}

/** Whether the client can answer "elicitation", "sampling" or "roots". */
export function clientSupports(feature) {
  return host.clientSupports(feature);
}

/** Tells subscribers that the resource at `uri` changed. */
export function resourceUpdated(uri) {
  host.resourceUpdated(uri);
}

// The same messages as the Rust SDK's `impl From<KvError> for Error`.
function kvError(e) {
  const p = e && e.payload;
  if (!p || typeof p.tag !== "string") return e;
  switch (p.tag) {
    case "no-scope":
      return new UserError(
        "this call has no session: open one with berth_session_open and pass it as `session`",
      );
    case "quota-exceeded":
      return new UserError(`state quota exceeded: ${p.val}`);
    case "invalid-key":
      return new UserError(`invalid state key: ${p.val}`);
    default:
      return new UserError(`state unavailable: ${p.val}`);
  }
}

function kvCall(f) {
  try {
    return f();
  } catch (e) {
    throw kvError(e);
  }
}

const ttl = (options) => (options && options.ttlMs != null ? options.ttlMs : null);

/** Key-value state in one scope. Values are stored as UTF-8 JSON, the
 * same bytes the Rust SDK's `kv::set` writes. */
class Store {
  constructor(scope) {
    this.scope = scope;
  }

  /** The value at `key`, or `undefined` when absent or expired. */
  get(key) {
    const bytes = this.getBytes(key);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(utf8Decode(bytes));
    } catch (e) {
      throw new UserError(`stored value at ${key} is unreadable: ${e.message}`);
    }
  }

  /** Stores `value` as JSON; `{ ttlMs }` makes it expire. */
  set(key, value, options) {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`cannot store ${typeof value} at ${key}`);
    this.setBytes(key, utf8Encode(json), options);
  }

  /** Deletes `key`; true when it existed. */
  delete(key) {
    return kvCall(() => host.kvDelete(this.scope, key));
  }

  /** The keys starting with `prefix`, in order. */
  list(prefix = "") {
    return kvCall(() => host.kvList(this.scope, prefix));
  }

  /** Raw bytes (a Uint8Array) at `key`, or `undefined`. */
  getBytes(key) {
    return kvCall(() => host.kvGet(this.scope, key)) ?? undefined;
  }

  /** Stores raw bytes; `{ ttlMs }` makes them expire. */
  setBytes(key, bytes, options) {
    kvCall(() => host.kvSet(this.scope, key, bytes, ttl(options)));
  }
}

/** State per session (`kv.session`) and per authenticated user (`kv.user`). */
export const kv = { session: new Store("session"), user: new Store("user") };
