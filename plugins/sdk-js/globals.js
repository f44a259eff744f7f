// berth JS SDK: the globals QuickJS lacks or gets wrong inside berth.
//
// - `console` does not exist: console.log/info/debug/warn/error become
//   `log` messages (the client sees them if it asked for that level).
// - `Math.random` would return the same numbers in every call, because
//   each call starts from the same build-time snapshot: it is reseeded
//   from the clocks on first use in a call. Not for secrets.

import { log } from "./context.js";

function show(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const to = (level) => (...args) => log(level, args.map(show).join(" "));

if (typeof globalThis.console === "undefined") {
  globalThis.console = {
    log: to("info"),
    info: to("info"),
    debug: to("debug"),
    warn: to("warning"),
    error: to("error"),
    berthLog: true, // errors.js prints stacks only to a runtime's own console
  };
}

// sfc32, seeded by splitmix32 from the wall and monotonic clocks.
let state = null;
function seed() {
  let x = (Date.now() ^ Math.floor(performance.now() * 1e6)) >>> 0;
  const next = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  state = [next(), next(), next(), next()];
}

Math.random = function random() {
  if (state === null) seed();
  let [a, b, c, d] = state;
  const t = (((a + b) >>> 0) + d) >>> 0;
  d = (d + 1) >>> 0;
  a = b ^ (b >>> 9);
  b = (c + (c << 3)) >>> 0;
  c = ((c << 21) | (c >>> 11)) >>> 0;
  c = (c + t) >>> 0;
  state = [a, b, c, d];
  return t / 4294967296;
};
