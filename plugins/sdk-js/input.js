// berth JS SDK: asking the client (the user, its model, its roots) in the
// middle of a tool call or prompt.
//
// A handler that needs answers returns `ask().elicit(...)`. The host asks
// the client and calls the handler again with the same arguments and an
// `Input` holding the answers to that round's questions, so a handler is
// written once for every protocol era:
//
//   tool({ name: "hi", description: "Says hi" }, (args, input) => {
//     const answer = input.elicited("name");
//     if (!answer) return ask().elicit("name", "What is your name?", NAME_SCHEMA);
//     return answer.action === "accept" ? `Hi, ${answer.content.name}!` : "Hi!";
//   });
//
// Each round's `Input` holds only the answers to the questions of the
// round before, and that round's state (as in the Rust SDK: the host hands
// back just those). A handler that asks again carries what it needs of
// earlier answers in `ask().state(text)`, which comes back as
// `input.state`.

/** Questions for the client; build with `ask()`. */
export class Ask {
  constructor() {
    this.requests = [];
    this.stateText = null;
  }

  /** Asks the user `message`; `schema` is a flat object JSON Schema for
   * the answer (`elicitation/create`). */
  elicit(key, message, schema) {
    const params = { message, requestedSchema: schema };
    this.requests.push([key, { tag: "elicitation", val: JSON.stringify(params) }]);
    return this;
  }

  /** Asks the client's model with the params of `sampling/createMessage`. */
  sample(key, params) {
    this.requests.push([key, { tag: "sampling", val: JSON.stringify(params) }]);
    return this;
  }

  /** Asks the client's model one question as the user. */
  sampleText(key, prompt, maxTokens) {
    const message = { role: "user", content: { type: "text", text: prompt } };
    return this.sample(key, { messages: [message], maxTokens });
  }

  /** Asks for the client's roots (`roots/list`). */
  roots(key) {
    this.requests.push([key, { tag: "roots" }]);
    return this;
  }

  /** A string handed back with the answers (signed by the host but readable
   * by the client: no secrets). */
  state(text) {
    this.stateText = String(text);
    return this;
  }

  /** The WIT `input-required`. */
  wit() {
    return { requests: this.requests, state: this.stateText };
  }
}

/** No questions yet: chain `.elicit`, `.sample`, `.sampleText`, `.roots`. */
export const ask = () => new Ask();

/** The answers a handler was called with: those to the previous round's
 * questions (none on the first round), and that round's state. */
export class Input {
  constructor(wit) {
    this.answers = new Map();
    for (const [key, json] of wit ? wit.answers : []) {
      let value = null;
      try {
        value = JSON.parse(json);
      } catch {
        // an unreadable answer reads as null, as in the Rust SDK
      }
      this.answers.set(key, value);
    }
    /** The state of the previous round, or null. */
    this.state = wit ? wit.state : null;
  }

  /** Whether this is the first round. */
  get first() {
    return this.answers.size === 0 && this.state == null;
  }

  /** The client's raw answer to `key` (parsed JSON), or undefined. */
  answer(key) {
    return this.answers.get(key);
  }

  /** The answer to the elicitation `key`: `{ action, content }` with action
   * "accept", "decline" or "cancel"; undefined when not asked yet. */
  elicited(key) {
    const a = this.answer(key);
    if (a === undefined) return undefined;
    const action = a && (a.action === "accept" || a.action === "decline") ? a.action : "cancel";
    return { action, content: action === "accept" ? (a.content ?? {}) : undefined };
  }

  /** The text the client's model answered to the sampling `key`. */
  sampledText(key) {
    const a = this.answer(key);
    let c = a && a.content;
    if (Array.isArray(c)) c = c.find((b) => b && b.type === "text");
    return c && typeof c.text === "string" ? c.text : undefined;
  }

  /** The root URIs the client answered to the roots request `key`. */
  roots(key) {
    const a = this.answer(key);
    if (!a || !Array.isArray(a.roots)) return undefined;
    return a.roots.filter((r) => r && typeof r.uri === "string").map((r) => r.uri);
  }
}
