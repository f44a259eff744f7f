// berth JS SDK: deliberate errors, and how every throw leaves the plugin.
//
// A `UserError` becomes the WIT `error` variant: the client sees its
// message (tools: a result with `isError`). Anything else thrown is a bug:
// it leaves as an uncaught Error, which makes QuickJS print the message and
// stack to stderr (berth's log) and trap; the host masks a trap as
// "Internal error ...", so its text never reaches the client.

const KINDS = ["invalid-params", "not-found", "denied", "failed"];

/** An error written for the client. `kind` is "failed" (the default),
 * "invalid-params", "not-found" or "denied". */
export class UserError extends Error {
  constructor(message, kind = "failed") {
    super(message);
    if (!KINDS.includes(kind)) throw new TypeError(`unknown UserError kind ${kind}`);
    this.name = "UserError";
    this.kind = kind;
  }
}

/** The arguments are wrong; `message` says how. */
export const invalidParams = (message) => new UserError(message, "invalid-params");
/** The named thing does not exist. */
export const notFound = (message) => new UserError(message, "not-found");
/** The caller may not do this. */
export const denied = (message) => new UserError(message, "denied");

function describe(value) {
  try {
    return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Runs the export body `f`; rethrows a `UserError` as the WIT error
 * variant and anything else as an Error (so the runtime traps instead of
 * reading a garbled variant out of it). `what` names the call. */
export function guard(what, f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof UserError) throw { tag: e.kind, val: String(e.message) };
    const error = e instanceof Error ? e : new Error(`${what} threw a non-Error value: ${describe(e)}`);
    // QuickJS prints the message and stack itself when it traps. A runtime
    // with a console of its own (SpiderMonkey) prints only the message, so
    // print the stack to its stderr first; never through the SDK's console,
    // which would send it to the client.
    if (typeof console !== "undefined" && !console.berthLog) console.error(`${what}: ${error.stack ?? error}`);
    throw error;
  }
}

/** Calls a user handler; refuses a Promise (berth runs plugins without
 * component-model async, so nothing could await it). */
export function callHandler(what, handler, ...args) {
  const value = handler(...args);
  if (value && typeof value.then === "function") {
    value.then(undefined, () => {}); // no unhandled-rejection noise
    throw new Error(`${what} returned a Promise: handlers must be synchronous`);
  }
  return value;
}
