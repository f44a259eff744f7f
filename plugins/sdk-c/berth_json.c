/*
 * berth_json.c: JSON in and out for berth.c: reading the arguments (a
 * small scanner over the JSON text the host has already validated) and
 * writing the tools' descriptors, whose input schema may be given in
 * berth.h's short form.
 */
#include "berth_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- JSON reading */

const char *berth__skip_ws(const char *p, const char *e) {
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
    char *buf = berth__checked(malloc(raw + 1));
    size_t n = decode_string(p, e, buf);
    bool same = n == klen && memcmp(buf, key, klen) == 0;
    free(buf);
    return same;
}

static const berth_str ABSENT = {NULL, 0};

berth_str berth_json_field(berth_str json, const char *key) {
    if (!json.ptr) return ABSENT;
    const char *e = json.ptr + json.len, *p = berth__skip_ws(json.ptr, e);
    if (p >= e || *p != '{') return ABSENT;
    p = berth__skip_ws(p + 1, e);
    while (p < e && *p == '"') {
        const char *k = p, *kend = skip_string(p, e);
        if (!kend) return ABSENT;
        p = berth__skip_ws(kend, e);
        if (p >= e || *p != ':') return ABSENT;
        const char *v = berth__skip_ws(p + 1, e), *vend = skip_value(v, e);
        if (!vend) return ABSENT;
        if (key_is(k, kend, key)) return (berth_str){v, (size_t)(vend - v)};
        p = berth__skip_ws(vend, e);
        if (p >= e || *p != ',') return ABSENT;
        p = berth__skip_ws(p + 1, e);
    }
    return ABSENT;
}

berth_str berth_json_item(berth_str json, size_t index) {
    if (!json.ptr) return ABSENT;
    const char *e = json.ptr + json.len, *p = berth__skip_ws(json.ptr, e);
    if (p >= e || *p != '[') return ABSENT;
    p = berth__skip_ws(p + 1, e);
    for (size_t i = 0; p < e && *p != ']'; i++) {
        const char *vend = skip_value(p, e);
        if (!vend) return ABSENT;
        if (i == index) return (berth_str){p, (size_t)(vend - p)};
        p = berth__skip_ws(vend, e);
        if (p >= e || *p != ',') return ABSENT;
        p = berth__skip_ws(p + 1, e);
    }
    return ABSENT;
}

berth_str berth_json_string(berth_call *c, berth_str json) {
    if (!json.ptr || json.len < 2 || json.ptr[0] != '"' || json.ptr[json.len - 1] != '"')
        return ABSENT;
    char *out = berth__own(c, json.len);
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
    berth_str own_v = berth__own_copy(c, v.ptr, v.len);
    return strtoll(own_v.ptr, NULL, 10);
}

double berth_arg_num(berth_call *c, const char *key, double fallback) {
    berth_str v = berth_arg_json(c, key);
    if (!is_number(v)) return fallback;
    berth_str own_v = berth__own_copy(c, v.ptr, v.len);
    return strtod(own_v.ptr, NULL);
}

bool berth_arg_bool(berth_call *c, const char *key, bool fallback) {
    berth_str v = berth_arg_json(c, key);
    if (v.len == 4 && memcmp(v.ptr, "true", 4) == 0) return true;
    if (v.len == 5 && memcmp(v.ptr, "false", 5) == 0) return false;
    return fallback;
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
        b->ptr = berth__checked(realloc(b->ptr, b->cap));
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
    if (args && *args == '{') return berth__result_string(args, strlen(args));
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
    exports_berth_plugin_tools_tool_t *tools = berth__checked(calloc(n ? n : 1, sizeof *tools));
    for (size_t i = 0; i < n; i++) {
        const berth_tool *t = &berth_tools[i];
        exports_berth_plugin_tools_tool_t *d = &tools[i];
        d->name = berth__result_string(t->name, strlen(t->name));
        if (t->title) {
            d->title.is_some = true;
            d->title.val = berth__result_string(t->title, strlen(t->title));
        }
        const char *description = t->description ? t->description : "";
        d->description = berth__result_string(description, strlen(description));
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

