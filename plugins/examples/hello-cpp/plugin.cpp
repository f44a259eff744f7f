// hello-cpp: greets people. The smallest useful berth plugin, in C++.
#include "berth.hpp"

#include <string>

static void greet(berth::Call &c) {
    std::string name{c.arg("name", "world")};
    c.debug("composing a greeting");
    c.info("greeting " + name);
    c.text("Hello, " + name + "!");
}

BERTH_TOOLS(
    berth::tool<greet>("greet", "Greets someone by name", "name: string Who to greet",
                       BERTH_READ_ONLY),
)
