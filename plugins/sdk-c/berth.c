/*
 * berth.c: the C helpers of berth.h over the bindings `berth build`
 * generates (bindings.h). With berth_json.c it implements the `tools`
 * exports over the plugin's BERTH_TOOLS table (call-tool here, list-tools
 * there), and it keeps the component model's ownership rules in one
 * place:
 *   - parameters of an export (the tool name, the arguments) belong to the
 *     callee: freed here when the tool returns;
 *   - results of an export are malloc'd here and freed by the generated
 *     post-return functions after the host has copied them;
 *   - results of an import (stored values, the principal, key lists) are
 *     allocated in our memory by the host: copied into the call's arena
 *     (NUL-terminated) and freed at once; the arena is freed when the tool
 *     returns;
 *   - parameters of an import are borrowed: the host copies them.
 */
#include "berth_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Memory */

static void out_of_memory(void) {
    abort();
}

void *berth__checked(void *p) {
    if (!p) out_of_memory();
    return p;
}

/* `n` bytes owned by the call (freed when the tool returns). */
void *berth__own(berth_call *c, size_t n) {
    struct block *b = berth__checked(malloc(sizeof(struct block) + n + 1));
    b->next = c->owned;
    c->owned = b;
    return b + 1;
}

/* A NUL-terminated copy of `len` bytes, owned by the call. */
berth_str berth__own_copy(berth_call *c, const void *ptr, size_t len) {
    char *s = berth__own(c, len);
    if (len) memcpy(s, ptr, len);
    s[len] = 0;
    return (berth_str){s, len};
}

static void release(berth_call *c) {
    while (c->owned) {
        struct block *next = c->owned->next;
        free(c->owned);
        c->owned = next;
    }
}

/* A malloc'd copy, for results (freed by the post-return functions). */
bindings_string_t berth__result_string(const char *s, size_t len) {
    bindings_string_t r = {NULL, 0};
    if (len == 0) return r;
    r.ptr = berth__checked(malloc(len));
    memcpy(r.ptr, s, len);
    r.len = len;
    return r;
}

/* printf into a malloc'd string. */
static bindings_string_t vformat(const char *format, va_list ap) {
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, format, ap);
    bindings_string_t r = {NULL, 0};
    if (n > 0) {
        r.ptr = berth__checked(malloc((size_t)n + 1));
        vsnprintf((char *)r.ptr, (size_t)n + 1, format, again);
        r.len = (size_t)n;
    }
    va_end(again);
    return r;
}

/* ---- Results */

static void add_text(berth_call *c, bindings_string_t text) {
    if (c->failed) {
        free(text.ptr);
        return;
    }
    if (c->content_len == c->content_cap) {
        c->content_cap = c->content_cap ? c->content_cap * 2 : 2;
        c->content = berth__checked(realloc(c->content, c->content_cap * sizeof(content_t)));
    }
    content_t *block = &c->content[c->content_len++];
    memset(block, 0, sizeof *block);
    block->tag = BERTH_PLUGIN_TYPES_CONTENT_TEXT;
    block->val.text.text = text;
}

void berth_text_n(berth_call *c, const char *text, size_t len) {
    add_text(c, berth__result_string(text, len));
}

void berth_text(berth_call *c, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    add_text(c, vformat(format, ap));
    va_end(ap);
}

void berth_error_text(berth_call *c, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    add_text(c, vformat(format, ap));
    va_end(ap);
    c->is_error = true;
}

void berth_error_text_n(berth_call *c, const char *text, size_t len) {
    add_text(c, berth__result_string(text, len));
    c->is_error = true;
}

void berth_structured(berth_call *c, const char *json, size_t len) {
    if (c->failed) return;
    free(c->structured.ptr);
    c->structured = berth__result_string(json, len);
    c->has_structured = true;
    berth_text_n(c, json, len);
}

static bool fail_with(berth_call *c, berth_error kind, bindings_string_t message) {
    if (c->failed) {
        free(message.ptr);
        return false;
    }
    c->failed = true;
    c->error_kind = (uint8_t)kind;
    c->error_message = message;
    return false;
}

bool berth_fail_n(berth_call *c, berth_error kind, const char *message, size_t len) {
    return fail_with(c, kind, berth__result_string(message, len));
}

bool berth_fail(berth_call *c, berth_error kind, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    bindings_string_t message = vformat(format, ap);
    va_end(ap);
    return fail_with(c, kind, message);
}

bool berth_failed(berth_call *c) {
    return c->failed;
}

/* ---- Context */

static bindings_string_t borrow(const char *s, size_t len) {
    return (bindings_string_t){(uint8_t *)s, len};
}

void berth_log_n(berth_call *c, berth_level level, const char *message, size_t len) {
    (void)c;
    bindings_string_t m = borrow(message, len);
    berth_plugin_context_log((berth_plugin_context_log_level_t)level, &m, NULL);
}

void berth_log(berth_call *c, berth_level level, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    bindings_string_t m = vformat(format, ap);
    va_end(ap);
    berth_log_n(c, level, (const char *)m.ptr, m.len);
    free(m.ptr);
}

void berth_progress(berth_call *c, double progress, double total, const char *message) {
    (void)c;
    bindings_string_t m = borrow(message ? message : "", message ? strlen(message) : 0);
    berth_plugin_context_progress(progress, total > 0 ? &total : NULL, message ? &m : NULL);
}

bool berth_cancelled(berth_call *c) {
    (void)c;
    return berth_plugin_context_cancelled();
}

const berth_identity *berth_principal(berth_call *c) {
    if (c->has_identity) return &c->identity;
    berth_plugin_context_identity_t id;
    berth_plugin_context_principal(&id);
    c->identity.subject = berth__own_copy(c, id.subject.ptr, id.subject.len);
    c->identity.tenant = berth__own_copy(c, id.tenant.ptr, id.tenant.len);
    berth_str *scopes = berth__own(c, id.scopes.len * sizeof(berth_str));
    for (size_t i = 0; i < id.scopes.len; i++)
        scopes[i] = berth__own_copy(c, id.scopes.ptr[i].ptr, id.scopes.ptr[i].len);
    c->identity.scopes = scopes;
    c->identity.scopes_len = id.scopes.len;
    berth_plugin_context_identity_free(&id);
    c->has_identity = true;
    return &c->identity;
}

void berth_resource_updated(berth_call *c, const char *uri) {
    (void)c;
    bindings_string_t u = borrow(uri, strlen(uri));
    berth_plugin_context_resource_updated(&u);
}

/* ---- Key-value state */

/* Records a kv error as the Rust SDK words it; frees it. */
static void kv_failed(berth_call *c, berth_plugin_context_kv_error_t *err) {
    const char *what = NULL;
    switch (err->tag) {
    case BERTH_PLUGIN_CONTEXT_KV_ERROR_QUOTA_EXCEEDED: what = "state quota exceeded"; break;
    case BERTH_PLUGIN_CONTEXT_KV_ERROR_INVALID_KEY: what = "invalid state key"; break;
    case BERTH_PLUGIN_CONTEXT_KV_ERROR_UNAVAILABLE: what = "state unavailable"; break;
    default:
        berth_fail(c, BERTH_FAILED, "this call has no session: open one with berth_session_open "
                                    "and pass it as `session`");
        return;
    }
    /* Every variant but no-scope carries a string at the same place. */
    bindings_string_t *detail = &err->val.quota_exceeded;
    berth_fail(c, BERTH_FAILED, "%s: %.*s", what, (int)detail->len, (const char *)detail->ptr);
    berth_plugin_context_kv_error_free(err);
}

int berth_kv_get(berth_call *c, berth_scope scope, const char *key, berth_str *value) {
    bindings_string_t k = borrow(key, strlen(key));
    bindings_option_list_u8_t ret;
    berth_plugin_context_kv_error_t err;
    if (!berth_plugin_context_kv_get((berth_plugin_context_scope_t)scope, &k, &ret, &err)) {
        kv_failed(c, &err);
        return -1;
    }
    if (!ret.is_some) return 0;
    *value = berth__own_copy(c, ret.val.ptr, ret.val.len);
    bindings_list_u8_free(&ret.val);
    return 1;
}

bool berth_kv_set(berth_call *c, berth_scope scope, const char *key, const void *value,
                  size_t len, uint64_t ttl_ms) {
    bindings_string_t k = borrow(key, strlen(key));
    bindings_list_u8_t v = {(uint8_t *)value, len};
    berth_plugin_context_kv_error_t err;
    if (!berth_plugin_context_kv_set((berth_plugin_context_scope_t)scope, &k, &v,
                                     ttl_ms ? &ttl_ms : NULL, &err)) {
        kv_failed(c, &err);
        return false;
    }
    return true;
}

long long berth_kv_get_int(berth_call *c, berth_scope scope, const char *key, long long fallback) {
    berth_str v;
    if (berth_kv_get(c, scope, key, &v) != 1) return fallback;
    char *end;
    long long n = strtoll(v.ptr, &end, 10);
    return end == v.ptr ? fallback : n;
}

bool berth_kv_set_int(berth_call *c, berth_scope scope, const char *key, long long value) {
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (value < 0) *--p = '-';
    return berth_kv_set(c, scope, key, p, (size_t)(buf + sizeof buf - p), 0);
}

int berth_kv_delete(berth_call *c, berth_scope scope, const char *key) {
    bindings_string_t k = borrow(key, strlen(key));
    bool existed;
    berth_plugin_context_kv_error_t err;
    if (!berth_plugin_context_kv_delete((berth_plugin_context_scope_t)scope, &k, &existed, &err)) {
        kv_failed(c, &err);
        return -1;
    }
    return existed ? 1 : 0;
}

bool berth_kv_list(berth_call *c, berth_scope scope, const char *prefix, const berth_str **keys,
                   size_t *len) {
    bindings_string_t p = borrow(prefix, strlen(prefix));
    bindings_list_string_t ret;
    berth_plugin_context_kv_error_t err;
    *keys = NULL;
    *len = 0;
    if (!berth_plugin_context_kv_list((berth_plugin_context_scope_t)scope, &p, &ret, &err)) {
        kv_failed(c, &err);
        return false;
    }
    berth_str *out = berth__own(c, ret.len * sizeof(berth_str));
    for (size_t i = 0; i < ret.len; i++) out[i] = berth__own_copy(c, ret.ptr[i].ptr, ret.ptr[i].len);
    *keys = out;
    *len = ret.len;
    bindings_list_string_free(&ret);
    return true;
}

/* ---- Calls */

bool exports_berth_plugin_tools_call_tool(bindings_string_t *name,
                                          exports_berth_plugin_tools_json_t *arguments,
                                          exports_berth_plugin_tools_input_answers_t *maybe_input,
                                          exports_berth_plugin_tools_tool_outcome_t *ret,
                                          exports_berth_plugin_tools_error_t *err) {
    berth_call call;
    memset(&call, 0, sizeof call);
    const char *a = (const char *)arguments->ptr, *e = a + arguments->len;
    call.args = berth__skip_ws(a, e) == e ? berth__own_copy(&call, "{}", 2) : berth__own_copy(&call, a, arguments->len);
    const berth_tool *tool = NULL;
    for (size_t i = 0; i < berth_tools_len && !tool; i++) {
        const char *n = berth_tools[i].name;
        if (strlen(n) == name->len && memcmp(n, name->ptr, name->len) == 0) tool = &berth_tools[i];
    }
    if (tool) tool->run(&call);
    else berth_fail(&call, BERTH_NOT_FOUND, "no tool named %.*s", (int)name->len, (const char *)name->ptr);
    bindings_string_free(name);
    bindings_string_free(arguments);
    if (maybe_input) berth_plugin_types_input_answers_free(maybe_input);
    release(&call);
    if (call.failed) {
        for (size_t i = 0; i < call.content_len; i++) bindings_string_free(&call.content[i].val.text.text);
        free(call.content);
        free(call.structured.ptr);
        err->tag = call.error_kind;
        err->val.failed = call.error_message;
        return false;
    }
    memset(ret, 0, sizeof *ret);
    ret->tag = EXPORTS_BERTH_PLUGIN_TOOLS_TOOL_OUTCOME_DONE;
    ret->val.done.content.ptr = call.content;
    ret->val.done.content.len = call.content_len;
    ret->val.done.structured_content.is_some = call.has_structured;
    ret->val.done.structured_content.val = call.structured;
    ret->val.done.is_error = call.is_error;
    return true;
}
