/* {{name}}: a berth plugin in C. Each tool is a function and a line in
 * BERTH_TOOLS below; `berth build` makes {{name}}.wasm. Every helper is
 * described in berth.h (.berth/sdk/plugins/sdk-c/berth.h after a build). */
#include "berth.h"

static void greet(berth_call *c) {
    const char *name = berth_arg_str(c, "name", "world");
    berth_text(c, "Hello, %s!", name);
}

static void count(berth_call *c) {
    long long n = berth_kv_get_int(c, BERTH_SESSION, "count", 0) + 1;
    berth_kv_set_int(c, BERTH_SESSION, "count", n);
    berth_log(c, BERTH_INFO, "counted to %lld", n);
    berth_text(c, "%lld", n);
}

BERTH_TOOLS(
    {"greet", "Greets someone by name", "name: string Who to greet", greet, BERTH_READ_ONLY},
    {"count", "Counts calls in this session", NULL, count, BERTH_STATEFUL},
)
