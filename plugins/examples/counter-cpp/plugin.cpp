// counter-cpp: counts calls per session, in session-scoped state.
//
// Each session (a legacy connection, or a modern handle from
// `berth_session_open`) starts at zero.
#include "berth.hpp"

#include <string>

using berth::Scope;

static void increment(berth::Call &c) {
    long long count = c.kv_get_int(Scope::Session, "count") + 1;
    c.kv_set_int(Scope::Session, "count", count);
    c.text(std::to_string(count));
}

static void get(berth::Call &c) {
    c.text(std::to_string(c.kv_get_int(Scope::Session, "count")));
}

static void reset(berth::Call &c) {
    c.kv_delete(Scope::Session, "count");
    c.text("0");
}

BERTH_TOOLS(
    berth::tool<increment>("increment", "Adds one to this session's counter and returns it",
                           nullptr, BERTH_STATEFUL),
    berth::tool<get>("get", "Returns this session's counter", nullptr,
                     BERTH_STATEFUL | BERTH_READ_ONLY),
    berth::tool<reset>("reset", "Sets this session's counter back to zero", nullptr,
                       BERTH_STATEFUL),
)
