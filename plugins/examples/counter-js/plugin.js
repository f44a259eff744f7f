// counter-js: counts calls per session, in session-scoped state.
//
// Each session (a legacy connection, or a modern handle from
// `berth_session_open`) starts at zero. The count is stored as JSON, so
// this plugin and the Rust `counter` read each other's state.

import { tool, kv } from "berth";

tool({
  name: "increment",
  description: "Adds one to this session's counter and returns it",
  stateful: true,
}, () => {
  const count = (kv.session.get("count") ?? 0) + 1;
  kv.session.set("count", count);
  return String(count);
});

tool({
  name: "get",
  description: "Returns this session's counter",
  stateful: true,
  readOnly: true,
}, () => String(kv.session.get("count") ?? 0));

tool({
  name: "reset",
  description: "Sets this session's counter back to zero",
  stateful: true,
}, () => {
  kv.session.delete("count");
  return "0";
});
