/* Fuzz target: the XML parser and writer. Any input must parse or fail cleanly with a reason; a
 * parsed tree written back with the writer must parse again to the same tree (names, attributes,
 * text), so the writer's escaping and the parser's decoding agree. */
#include "core/arena.h"
#include "core/buf.h"
#include "wire/xml.h"

#include <stdlib.h>
#include <string.h>

static void write_node(sl_xml_writer_t *w, const sl_xml_node_t *n) {
    sl_xml_open(w, n->name, NULL);
    for (const sl_xml_attr_t *a = n->attrs; a; a = a->next)
        sl_xml_attr(w, a->name, a->value);
    sl_xml_text(w, n->text, n->text_len);
    for (const sl_xml_node_t *c = n->first_child; c; c = c->next)
        write_node(w, c);
    sl_xml_close(w);
}

static void same(const sl_xml_node_t *x, const sl_xml_node_t *y) {
    if (!x || !y || strcmp(x->name, y->name) != 0 || strcmp(x->local, y->local) != 0) abort();
    if (x->text_len != y->text_len || memcmp(x->text, y->text, x->text_len) != 0) abort();
    const sl_xml_attr_t *a = x->attrs, *b = y->attrs;
    for (; a && b; a = a->next, b = b->next) {
        if (strcmp(a->name, b->name) != 0 || a->value_len != b->value_len) abort();
        if (memcmp(a->value, b->value, a->value_len) != 0) abort();
    }
    if (a || b) abort();
    const sl_xml_node_t *c = x->first_child, *d = y->first_child;
    for (; c && d; c = c->next, d = d->next)
        same(c, d);
    if (c || d) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_xml_node_t *root = NULL, *again = NULL;
    const char *reason = NULL;
    if (sl_xml_parse((const char *)data, size, &arena, &root, &reason) != 0) {
        if (!reason || root) abort();
        goto done;
    }
    sl_buf_t out = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &out);
    sl_xml_declaration(&w);
    write_node(&w, root);
    if (sl_buf_failed(&out) || w.depth != 0) abort();
    if (sl_xml_parse(out.data, out.len, &arena, &again, &reason) != 0) abort();
    same(root, again);
    sl_buf_free(&out);
done:
    sl_arena_deinit(&arena);
    return 0;
}
