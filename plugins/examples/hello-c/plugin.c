/* hello-c: greets people. The smallest useful berth plugin, in C. */
#include "berth.h"

static void greet(berth_call *c) {
    const char *name = berth_arg_str(c, "name", "world");
    berth_log(c, BERTH_DEBUG, "composing a greeting");
    berth_log(c, BERTH_INFO, "greeting %s", name);
    berth_text(c, "Hello, %s!", name);
}

BERTH_TOOLS(
    {"greet", "Greets someone by name", "name: string Who to greet", greet, BERTH_READ_ONLY},
)
