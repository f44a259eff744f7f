// berth JS SDK: the WIT exports of a plugin. The entry module `berth build`
// generates imports the user's module, then re-exports these.

import "./berth.js";

export { tools } from "./tools.js";
export { resources, prompts, completion } from "./resources.js";
