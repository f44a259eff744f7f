/*
 * berth.h: berth plugin tools in C (and, through berth.hpp and berth.zig,
 * in C++ and Zig). `berth build` compiles it with berth.c and the bindings
 * it generates from berth's WIT; a plugin includes this header only.
 *
 * A tool is a function and a line in the table BERTH_TOOLS:
 *
 *     #include "berth.h"
 *
 *     static void greet(berth_call *c) {
 *         const char *name = berth_arg_str(c, "name", "world");
 *         berth_log(c, BERTH_INFO, "greeting %s", name);
 *         berth_text(c, "Hello, %s!", name);
 *     }
 *
 *     BERTH_TOOLS(
 *         {"greet", "Greets someone by name", "name: string Who to greet",
 *          greet, BERTH_READ_ONLY},
 *     )
 *
 * Clients see the tool as `<plugin>_greet`.
 *
 * MEMORY (the component model's ownership rules, handled by berth.c once):
 *   - What berth hands you (arguments, stored values, key lists, the
 *     principal) belongs to the call: it stays valid until your tool
 *     function returns, and berth frees it then. Never free it. Strings
 *     are NUL-terminated as well as counted.
 *   - What you hand berth (texts, keys, values, messages, formats) is
 *     copied before the function returns: literals, stack buffers and your
 *     own allocations are fine, and stay yours to free.
 *   - Nothing outlives a call: each call runs in a fresh instance, so
 *     globals start from zero every time. Keep state with berth_kv_*.
 *
 * ERRORS: berth_fail() records an error the client sees (the message must
 * be written for the client). A failing berth_kv_* call records one too,
 * like the Rust SDK's `?`. Once an error is recorded it is the call's
 * outcome: later results are ignored. A trap (abort(), a bad pointer, out
 * of memory) reaches the client only as an internal error; what the plugin
 * printed to stderr is logged for the operator.
 */
#ifndef BERTH_H
#define BERTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A counted string (or byte string) berth hands you; see MEMORY above. */
typedef struct berth_str {
    const char *ptr;
    size_t len;
} berth_str;

/* The call being served. Every helper takes it. */
typedef struct berth_call berth_call;

/* Tool flags (combine with |). */
#define BERTH_STATEFUL 1u    /* keeps state in the session scope */
#define BERTH_READ_ONLY 2u   /* does not modify its environment */
#define BERTH_DESTRUCTIVE 4u /* may perform destructive updates */
#define BERTH_IDEMPOTENT 8u  /* calling it twice has no further effect */
#define BERTH_OPEN_WORLD 16u /* talks to external entities */

/*
 * One tool. `args` describes the arguments object, either
 *   - as a JSON Schema (text starting with `{`), used as it is; or
 *   - as a list `name: type description; name?: type description`, where
 *     `?` marks an optional argument and type is string, integer, number,
 *     boolean, array or object (e.g. "city: string The city; days?:
 *     integer How many days"); or
 *   - NULL or "" for no arguments.
 */
typedef struct berth_tool {
    const char *name;        /* letters, digits, _ - . */
    const char *description; /* what the tool does, written for a model */
    const char *args;        /* the arguments (see above) */
    void (*run)(berth_call *c);
    unsigned flags;    /* BERTH_STATEFUL | BERTH_READ_ONLY | ... */
    const char *title; /* human-readable name, or NULL */
} berth_tool;

/* The plugin's tools: BERTH_TOOLS({...}, {...}) defines them. */
extern const berth_tool berth_tools[];
extern const size_t berth_tools_len;

#ifdef __cplusplus
#define BERTH_TOOLS(...)                                                        \
    extern "C" const berth_tool berth_tools[] = {__VA_ARGS__};                  \
    extern "C" const size_t berth_tools_len = sizeof(berth_tools) / sizeof(berth_tools[0]);
#else
#define BERTH_TOOLS(...)                                                        \
    const berth_tool berth_tools[] = {__VA_ARGS__};                             \
    const size_t berth_tools_len = sizeof(berth_tools) / sizeof(berth_tools[0]);
#endif

/* ---- Arguments (a JSON object; the host has checked it against `args`) */

/* The string argument `key`, decoded; `fallback` when absent or not a
 * string. */
const char *berth_arg_str(berth_call *c, const char *key, const char *fallback);
/* The integer argument `key`; `fallback` when absent or not a number. */
long long berth_arg_int(berth_call *c, const char *key, long long fallback);
/* The number argument `key`; `fallback` when absent or not a number. */
double berth_arg_num(berth_call *c, const char *key, double fallback);
/* The boolean argument `key`; `fallback` when absent or not a boolean. */
bool berth_arg_bool(berth_call *c, const char *key, bool fallback);
/* The JSON text of argument `key` (any type); ptr NULL when absent. */
berth_str berth_arg_json(berth_call *c, const char *key);
/* All the arguments, as JSON text. */
berth_str berth_args(berth_call *c);

/* JSON helpers for nested values (`json` is JSON text, e.g. from
 * berth_arg_json). Results are NULL/absent-valued as above. */
berth_str berth_json_field(berth_str json, const char *key); /* of an object */
berth_str berth_json_item(berth_str json, size_t index);     /* of an array */
berth_str berth_json_string(berth_call *c, berth_str json);  /* decodes "..." */

/* ---- Results (a call with none returns an empty text) */

/* Appends a text block, printf-style. */
void berth_text(berth_call *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends a text block of `len` bytes. */
void berth_text_n(berth_call *c, const char *text, size_t len);
/* Appends a text block and marks the result an error the model may
 * correct (the call still succeeds). */
void berth_error_text(berth_call *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void berth_error_text_n(berth_call *c, const char *text, size_t len);
/* Sets the structured result (JSON text of `len` bytes) and appends it as
 * a text block for clients that read only text. */
void berth_structured(berth_call *c, const char *json, size_t len);

/* What berth_fail reports. */
typedef enum berth_error {
    BERTH_INVALID_PARAMS = 0, /* the arguments are wrong */
    BERTH_NOT_FOUND = 1,      /* no such thing */
    BERTH_DENIED = 2,         /* the caller may not do this */
    BERTH_FAILED = 3,         /* the operation failed */
} berth_error;

/* Records an error for the client, printf-style; returns false (so a
 * helper can `return berth_fail(...)`). The first error recorded wins. */
bool berth_fail(berth_call *c, berth_error kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* Records an error of `len` bytes. */
bool berth_fail_n(berth_call *c, berth_error kind, const char *message, size_t len);
/* Whether an error is recorded. */
bool berth_failed(berth_call *c);

/* ---- Context */

typedef enum berth_level {
    BERTH_DEBUG = 0,
    BERTH_INFO = 1,
    BERTH_NOTICE = 2,
    BERTH_WARNING = 3,
    BERTH_ERROR = 4,
    BERTH_CRITICAL = 5,
    BERTH_ALERT = 6,
    BERTH_EMERGENCY = 7,
} berth_level;

/* Logs to the client (if it asked for `level`) and to berth's log. */
void berth_log(berth_call *c, berth_level level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void berth_log_n(berth_call *c, berth_level level, const char *message, size_t len);

/* Reports progress; `total` <= 0 means unknown, `message` may be NULL. */
void berth_progress(berth_call *c, double progress, double total, const char *message);

/* True once the client has cancelled this call: return early. */
bool berth_cancelled(berth_call *c);

/* The authenticated caller (`anonymous` without auth). */
typedef struct berth_identity {
    berth_str subject;
    berth_str tenant;
    const berth_str *scopes;
    size_t scopes_len;
} berth_identity;
const berth_identity *berth_principal(berth_call *c);

/* Tells subscribers that the resource at `uri` changed. */
void berth_resource_updated(berth_call *c, const char *uri);

/* ---- Key-value state. On failure (no session for a session-scoped call,
 * quota, bad key) these record the error on the call and return -1, false
 * or the fallback. */

typedef enum berth_scope {
    BERTH_SESSION = 0, /* this session; mark the tool BERTH_STATEFUL */
    BERTH_USER = 1,    /* the authenticated caller, across sessions */
} berth_scope;

/* 1 and *value set when present, 0 when absent, -1 on failure. */
int berth_kv_get(berth_call *c, berth_scope scope, const char *key, berth_str *value);
/* Stores `len` bytes; `ttl_ms` 0 keeps them until deleted. */
bool berth_kv_set(berth_call *c, berth_scope scope, const char *key, const void *value,
                  size_t len, uint64_t ttl_ms);
/* The integer at `key` (stored as JSON text, as the other SDKs do), or
 * `fallback` when absent, unreadable or on failure. */
long long berth_kv_get_int(berth_call *c, berth_scope scope, const char *key, long long fallback);
bool berth_kv_set_int(berth_call *c, berth_scope scope, const char *key, long long value);
/* 1 when the key existed, 0 when not, -1 on failure. */
int berth_kv_delete(berth_call *c, berth_scope scope, const char *key);
/* The keys starting with `prefix`, in order. */
bool berth_kv_list(berth_call *c, berth_scope scope, const char *prefix, const berth_str **keys,
                   size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* BERTH_H */
