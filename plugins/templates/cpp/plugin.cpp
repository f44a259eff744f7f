// {{name}}: a berth plugin in C++. Each tool is a function and a line in
// BERTH_TOOLS below; `berth build` makes {{name}}.wasm. Every helper is
// described in berth.hpp and berth.h (under .berth/sdk/plugins after a build).
#include "berth.hpp"

#include <string>

static void greet(berth::Call &c) {
    std::string name{c.arg("name", "world")};
    c.text("Hello, " + name + "!");
}

static void count(berth::Call &c) {
    long long n = c.kv_get_int(berth::Scope::Session, "count") + 1;
    c.kv_set_int(berth::Scope::Session, "count", n);
    c.info("counted to " + std::to_string(n));
    c.text(std::to_string(n));
}

BERTH_TOOLS(
    berth::tool<greet>("greet", "Greets someone by name", "name: string Who to greet",
                       BERTH_READ_ONLY),
    berth::tool<count>("count", "Counts calls in this session", nullptr, BERTH_STATEFUL),
)
