/*
 * berth_impl.h: what berth.c and berth_json.c share; not for plugins.
 */
#ifndef BERTH_IMPL_H
#define BERTH_IMPL_H

#include "berth.h"
#include "bindings.h"

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

/* `p`, or abort() (a trap) when an allocation failed. */
void *berth__checked(void *p);
/* `n` bytes (and a NUL) owned by the call: freed when the tool returns. */
void *berth__own(berth_call *c, size_t n);
/* A NUL-terminated copy of `len` bytes, owned by the call. */
berth_str berth__own_copy(berth_call *c, const void *ptr, size_t len);
/* A malloc'd copy, for results (freed by the post-return functions). */
bindings_string_t berth__result_string(const char *s, size_t len);
/* Skips JSON whitespace. */
const char *berth__skip_ws(const char *p, const char *e);

#endif /* BERTH_IMPL_H */
