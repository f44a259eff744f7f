/*
 * berth.c: the C helpers of berth.h over the bindings `berth build`
 * generates (bindings.h). It implements the `tools` exports over the
 * plugin's BERTH_TOOLS table and keeps the component model's ownership
 * rules in one place:
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
#include "berth.h"
#include "bindings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef exports_berth_plugin_tools_content_t content_t;

struct block {
    struct block *next;
};

struct berth_call {
    berth_str args;
    content_t *content;
    size_t content_len, content_cap;
    bool is_error;
    bool has_structured;
    bindings_string_t structured;
    bool failed;
    uint8_t error_kind;
    bindings_string_t error_message;
    bool has_identity;
    berth_identity identity;
    struct block *owned;
};

/* ---- Memory */

static void out_of_memory(void) {
    abort();
}

static void *checked(void *p) {
    if (!p) out_of_memory();
    return p;
}

/* `n` bytes owned by the call (freed when the tool returns). */
static void *own(berth_call *c, size_t n) {
    struct block *b = checked(malloc(sizeof(struct block) + n + 1));
    b->next = c->owned;
    c->owned = b;
    return b + 1;
}

/* A NUL-terminated copy of `len` bytes, owned by the call. */
static berth_str own_copy(berth_call *c, const void *ptr, size_t len) {
    char *s = own(c, len);
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
static bindings_string_t result_string(const char *s, size_t len) {
    bindings_string_t r = {NULL, 0};
    if (len == 0) return r;
    r.ptr = checked(malloc(len));
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
        r.ptr = checked(malloc((size_t)n + 1));
        vsnprintf((char *)r.ptr, (size_t)n + 1, format, again);
        r.len = (size_t)n;
    }
    va_end(again);
    return r;
}

/* ---- JSON reading */

static const char *skip_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* `p` at a quote; returns what follows the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *e) {
    for (p++; p < e; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

/* Returns the end of the value at `p`, or NULL. */
static const char *skip_value(const char *p, const char *e) {
    if (p >= e) return NULL;
    if (*p == '"') return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') {
                p = skip_string(p, e);
                if (!p) return NULL;
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\n' && *p != '\r')
        p++;
    return p > start ? p : NULL;
}

static unsigned hex4(const char *p, const char *e, bool *ok) {
    unsigned v = 0;
    if (e - p < 4) {
        *ok = false;
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') v |= (unsigned)(ch - 'A' + 10);
        else *ok = false;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the JSON string at [p, e) (quotes included) into `out`, which
 * has room for e - p bytes (decoding never grows). Returns the length. */
static size_t decode_string(const char *p, const char *e, char *out) {
    size_t n = 0;
    for (p++, e--; p < e; p++) {
        if (*p != '\\') {
            out[n++] = *p;
            continue;
        }
        if (++p >= e) break;
        switch (*p) {
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            bool ok = true;
            unsigned cp = hex4(p + 1, e, &ok);
            p += 4;
            if (ok && cp >= 0xD800 && cp < 0xDC00 && e - p > 6 && p[1] == '\\' && p[2] == 'u') {
                unsigned low = hex4(p + 3, e, &ok);
                if (ok && low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
            }
            if (!ok || (cp >= 0xD800 && cp < 0xE000)) cp = 0xFFFD;
            n += put_utf8(out + n, cp);
            break;
        }
        default: out[n++] = *p; break; /* \" \\ \/ */
        }
    }
    return n;
}

/* Whether the JSON string at [p, e) equals `key`. */
static bool key_is(const char *p, const char *e, const char *key) {
    size_t klen = strlen(key), raw = (size_t)(e - p) - 2;
    if (!memchr(p + 1, '\\', raw)) return raw == klen && memcmp(p + 1, key, klen) == 0;
    char *buf = checked(malloc(raw + 1));
    size_t n = decode_string(p, e, buf);
    bool same = n == klen && memcmp(buf, key, klen) == 0;
    free(buf);
    return same;
}

static const berth_str ABSENT = {NULL, 0};

berth_str berth_json_field(berth_str json, const char *key) {
    if (!json.ptr) return ABSENT;
    const char *e = json.ptr + json.len, *p = skip_ws(json.ptr, e);
    if (p >= e || *p != '{') return ABSENT;
    p = skip_ws(p + 1, e);
    while (p < e && *p == '"') {
        const char *k = p, *kend = skip_string(p, e);
        if (!kend) return ABSENT;
        p = skip_ws(kend, e);
        if (p >= e || *p != ':') return ABSENT;
        const char *v = skip_ws(p + 1, e), *vend = skip_value(v, e);
        if (!vend) return ABSENT;
        if (key_is(k, kend, key)) return (berth_str){v, (size_t)(vend - v)};
        p = skip_ws(vend, e);
        if (p >= e || *p != ',') return ABSENT;
        p = skip_ws(p + 1, e);
    }
    return ABSENT;
}

berth_str berth_json_item(berth_str json, size_t index) {
    if (!json.ptr) return ABSENT;
    const char *e = json.ptr + json.len, *p = skip_ws(json.ptr, e);
    if (p >= e || *p != '[') return ABSENT;
    p = skip_ws(p + 1, e);
    for (size_t i = 0; p < e && *p != ']'; i++) {
        const char *vend = skip_value(p, e);
        if (!vend) return ABSENT;
        if (i == index) return (berth_str){p, (size_t)(vend - p)};
        p = skip_ws(vend, e);
        if (p >= e || *p != ',') return ABSENT;
        p = skip_ws(p + 1, e);
    }
    return ABSENT;
}

berth_str berth_json_string(berth_call *c, berth_str json) {
    if (!json.ptr || json.len < 2 || json.ptr[0] != '"' || json.ptr[json.len - 1] != '"')
        return ABSENT;
    char *out = own(c, json.len);
    size_t n = decode_string(json.ptr, json.ptr + json.len, out);
    out[n] = 0;
    return (berth_str){out, n};
}

/* ---- Arguments */

berth_str berth_args(berth_call *c) {
    return c->args;
}

berth_str berth_arg_json(berth_call *c, const char *key) {
    return berth_json_field(c->args, key);
}

const char *berth_arg_str(berth_call *c, const char *key, const char *fallback) {
    berth_str s = berth_json_string(c, berth_arg_json(c, key));
    return s.ptr ? s.ptr : fallback;
}

static bool is_number(berth_str v) {
    return v.ptr && v.len && (v.ptr[0] == '-' || (v.ptr[0] >= '0' && v.ptr[0] <= '9'));
}

long long berth_arg_int(berth_call *c, const char *key, long long fallback) {
    berth_str v = berth_arg_json(c, key);
    if (!is_number(v)) return fallback;
    berth_str own_v = own_copy(c, v.ptr, v.len);
    return strtoll(own_v.ptr, NULL, 10);
}

double berth_arg_num(berth_call *c, const char *key, double fallback) {
    berth_str v = berth_arg_json(c, key);
    if (!is_number(v)) return fallback;
    berth_str own_v = own_copy(c, v.ptr, v.len);
    return strtod(own_v.ptr, NULL);
}

bool berth_arg_bool(berth_call *c, const char *key, bool fallback) {
    berth_str v = berth_arg_json(c, key);
    if (v.len == 4 && memcmp(v.ptr, "true", 4) == 0) return true;
    if (v.len == 5 && memcmp(v.ptr, "false", 5) == 0) return false;
    return fallback;
}

/* ---- Results */

static void add_text(berth_call *c, bindings_string_t text) {
    if (c->failed) {
        free(text.ptr);
        return;
    }
    if (c->content_len == c->content_cap) {
        c->content_cap = c->content_cap ? c->content_cap * 2 : 2;
        c->content = checked(realloc(c->content, c->content_cap * sizeof(content_t)));
    }
    content_t *block = &c->content[c->content_len++];
    memset(block, 0, sizeof *block);
    block->tag = BERTH_PLUGIN_TYPES_CONTENT_TEXT;
    block->val.text.text = text;
}

void berth_text_n(berth_call *c, const char *text, size_t len) {
    add_text(c, result_string(text, len));
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
    add_text(c, result_string(text, len));
    c->is_error = true;
}

void berth_structured(berth_call *c, const char *json, size_t len) {
    if (c->failed) return;
    free(c->structured.ptr);
    c->structured = result_string(json, len);
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
    return fail_with(c, kind, result_string(message, len));
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
    c->identity.subject = own_copy(c, id.subject.ptr, id.subject.len);
    c->identity.tenant = own_copy(c, id.tenant.ptr, id.tenant.len);
    berth_str *scopes = own(c, id.scopes.len * sizeof(berth_str));
    for (size_t i = 0; i < id.scopes.len; i++)
        scopes[i] = own_copy(c, id.scopes.ptr[i].ptr, id.scopes.ptr[i].len);
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
    *value = own_copy(c, ret.val.ptr, ret.val.len);
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
    berth_str *out = own(c, ret.len * sizeof(berth_str));
    for (size_t i = 0; i < ret.len; i++) out[i] = own_copy(c, ret.ptr[i].ptr, ret.ptr[i].len);
    *keys = out;
    *len = ret.len;
    bindings_list_string_free(&ret);
    return true;
}

/* ---- Descriptors */

/* A growing malloc'd string. */
typedef struct {
    char *ptr;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 16;
        b->ptr = checked(realloc(b->ptr, b->cap));
    }
    memcpy(b->ptr + b->len, s, n);
    b->len += n;
}

static void put_s(buf_t *b, const char *s) {
    put(b, s, strlen(s));
}

/* `s` as the contents of a JSON string. */
static void put_escaped(buf_t *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            put(b, esc, 2);
        } else if (ch < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            put(b, esc, 6);
        } else {
            put(b, (const char *)&ch, 1);
        }
    }
}

static bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* The JSON Schema of a tool's `args` (see berth.h). */
static bindings_string_t schema_of(const char *args) {
    while (args && is_space(*args)) args++;
    if (args && *args == '{') return result_string(args, strlen(args));
    buf_t props = {0}, required = {0};
    for (const char *p = args; p && *p;) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *name = p, *name_end = colon ? colon : end;
        while (name < name_end && is_space(*name)) name++;
        while (name_end > name && is_space(name_end[-1])) name_end--;
        bool optional = name_end > name && name_end[-1] == '?';
        if (optional) name_end--;
        const char *type = colon ? colon + 1 : end, *type_end;
        while (type < end && is_space(*type)) type++;
        for (type_end = type; type_end < end && !is_space(*type_end);) type_end++;
        const char *desc = type_end, *desc_end = end;
        while (desc < desc_end && is_space(*desc)) desc++;
        while (desc_end > desc && is_space(desc_end[-1])) desc_end--;
        if (name_end > name) {
            put_s(&props, props.len ? ",\"" : "\"");
            put_escaped(&props, name, (size_t)(name_end - name));
            put_s(&props, "\":{\"type\":\"");
            if (type_end > type) put_escaped(&props, type, (size_t)(type_end - type));
            else put_s(&props, "string");
            put_s(&props, "\"");
            if (desc_end > desc) {
                put_s(&props, ",\"description\":\"");
                put_escaped(&props, desc, (size_t)(desc_end - desc));
                put_s(&props, "\"");
            }
            put_s(&props, "}");
            if (!optional) {
                put_s(&required, required.len ? ",\"" : "\"");
                put_escaped(&required, name, (size_t)(name_end - name));
                put_s(&required, "\"");
            }
        }
        p = *end ? end + 1 : end;
    }
    buf_t schema = {0};
    put_s(&schema, "{\"type\":\"object\",\"properties\":{");
    if (props.len) put(&schema, props.ptr, props.len);
    put_s(&schema, "}");
    if (required.len) {
        put_s(&schema, ",\"required\":[");
        put(&schema, required.ptr, required.len);
        put_s(&schema, "]");
    }
    put_s(&schema, "}");
    free(props.ptr);
    free(required.ptr);
    return (bindings_string_t){(uint8_t *)schema.ptr, schema.len};
}

static bindings_option_bool_t hint(unsigned flags, unsigned flag) {
    bindings_option_bool_t o = {false, false};
    if (flags & flag) o.is_some = o.val = true;
    return o;
}

void exports_berth_plugin_tools_list_tools(exports_berth_plugin_tools_list_tool_t *ret) {
    size_t n = berth_tools_len;
    exports_berth_plugin_tools_tool_t *tools = checked(calloc(n ? n : 1, sizeof *tools));
    for (size_t i = 0; i < n; i++) {
        const berth_tool *t = &berth_tools[i];
        exports_berth_plugin_tools_tool_t *d = &tools[i];
        d->name = result_string(t->name, strlen(t->name));
        if (t->title) {
            d->title.is_some = true;
            d->title.val = result_string(t->title, strlen(t->title));
        }
        const char *description = t->description ? t->description : "";
        d->description = result_string(description, strlen(description));
        d->input_schema = schema_of(t->args);
        unsigned hints = BERTH_READ_ONLY | BERTH_DESTRUCTIVE | BERTH_IDEMPOTENT | BERTH_OPEN_WORLD;
        if (t->flags & hints) {
            d->annotations.is_some = true;
            d->annotations.val.read_only_hint = hint(t->flags, BERTH_READ_ONLY);
            d->annotations.val.destructive_hint = hint(t->flags, BERTH_DESTRUCTIVE);
            d->annotations.val.idempotent_hint = hint(t->flags, BERTH_IDEMPOTENT);
            d->annotations.val.open_world_hint = hint(t->flags, BERTH_OPEN_WORLD);
        }
        d->stateful = (t->flags & BERTH_STATEFUL) != 0;
    }
    ret->ptr = tools;
    ret->len = n;
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
    call.args = skip_ws(a, e) == e ? own_copy(&call, "{}", 2) : own_copy(&call, a, arguments->len);
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
