/* counter-c: counts calls per session, in session-scoped state.
 *
 * Each session (a legacy connection, or a modern handle from
 * `berth_session_open`) starts at zero. */
#include "berth.h"

static void increment(berth_call *c) {
    long long count = berth_kv_get_int(c, BERTH_SESSION, "count", 0) + 1;
    berth_kv_set_int(c, BERTH_SESSION, "count", count);
    berth_text(c, "%lld", count);
}

static void get(berth_call *c) {
    berth_text(c, "%lld", berth_kv_get_int(c, BERTH_SESSION, "count", 0));
}

static void reset(berth_call *c) {
    berth_kv_delete(c, BERTH_SESSION, "count");
    berth_text(c, "0");
}

BERTH_TOOLS(
    {"increment", "Adds one to this session's counter and returns it", NULL, increment,
     BERTH_STATEFUL},
    {"get", "Returns this session's counter", NULL, get, BERTH_STATEFUL | BERTH_READ_ONLY},
    {"reset", "Sets this session's counter back to zero", NULL, reset, BERTH_STATEFUL},
)
