/* XML for the REST-XML and Query protocols: a writer that streams escaped elements into an
 * sl_buf_t, and a small non-validating parser for request bodies (S3's CreateBucketConfiguration,
 * CompleteMultipartUpload, Delete; Query-protocol members never arrive as XML, only answers leave
 * as XML).
 *
 * The writer keeps a stack of open element names (borrowed: they must outlive the element, string
 * literals usually do) and closes them in order; attributes may follow an open until the first
 * child or text. Text and attribute values are escaped (& < > always, " and ' in attributes, and
 * every character XML 1.0 cannot carry literally as a numeric reference, so \r survives a round
 * trip). Errors are sticky in the sl_buf_t (sl_buf_failed) as everywhere else.
 *
 * The parser accepts well-formed XML 1.0 in UTF-8: elements, attributes, character data, CDATA,
 * comments, processing instructions and the XML declaration. It rejects any DOCTYPE (so no DTD, no
 * external entity and no entity expansion attack is possible) and every entity reference other
 * than the five predefined ones and numeric character references. Line ends are normalised to \n
 * as XML 1.0 says, and literal tabs and newlines in attribute values become spaces (references
 * keep them). The
 * tree is built in the caller's arena; names keep their prefix (`name`) and are also given without
 * it (`local`), which is what S3 bodies are matched by. An element's text is the concatenation of
 * all its direct character data (mixed content is not separated). */
#ifndef SL_WIRE_XML_H
#define SL_WIRE_XML_H

#include "core/arena.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- writer ---- */

typedef struct {
    sl_buf_t *out;
    const char *stack[64]; /* names of the open elements, innermost last (SL_WIRE_DEPTH_MAX) */
    int depth;
    bool tag_open; /* "<name attr..." written, '>' not yet */
} sl_xml_writer_t;

/* Starts writing into `out` (appending). Writes nothing. */
void sl_xml_writer_init(sl_xml_writer_t *w, sl_buf_t *out);
/* <?xml version="1.0" encoding="UTF-8"?> and a newline, as S3 starts its documents. */
void sl_xml_declaration(sl_xml_writer_t *w);
/* Opens <name>; `xmlns`, when not NULL, is written as its default-namespace attribute. More than
 * 64 levels mark the buffer failed. */
void sl_xml_open(sl_xml_writer_t *w, const char *name, const char *xmlns);
/* Adds an attribute to the element just opened (before any child or text). */
void sl_xml_attr(sl_xml_writer_t *w, const char *name, const char *value);
/* Escaped character data inside the current element. */
void sl_xml_text(sl_xml_writer_t *w, const char *text, size_t len);
/* Closes the innermost open element (</name>, or <name></name> when empty). */
void sl_xml_close(sl_xml_writer_t *w);
/* Closes every element still open. */
void sl_xml_finish(sl_xml_writer_t *w);
/* <name>text</name> in one call: the leaf elements that make up most of an answer. */
void sl_xml_element(sl_xml_writer_t *w, const char *name, const char *text);
void sl_xml_element_len(sl_xml_writer_t *w, const char *name, const char *text, size_t len);
void sl_xml_element_fmt(sl_xml_writer_t *w, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends `s` escaped for text (attribute = false) or a double-quoted attribute (true). */
void sl_xml_escape(sl_buf_t *out, const char *s, size_t len, bool attribute);

/* ---- parser ---- */

typedef struct sl_xml_attr {
    const char *name; /* as written, with its prefix; NUL-terminated */
    const char *value;
    size_t value_len;
    struct sl_xml_attr *next;
} sl_xml_attr_t;

typedef struct sl_xml_node {
    const char *name;  /* qualified name as written, NUL-terminated */
    const char *local; /* the part after the prefix's colon (points into name) */
    const char *text;  /* direct character data, decoded, NUL-terminated ("" when none) */
    size_t text_len;
    sl_xml_attr_t *attrs;
    struct sl_xml_node *parent;
    struct sl_xml_node *first_child;
    struct sl_xml_node *next; /* next sibling */
} sl_xml_node_t;

/* Parses data[0..len) into a tree in `arena` (the input is not modified and need not be
 * NUL-terminated). Returns 0 and *root, or SL_EINVAL with *reason a static description (SL_ENOMEM,
 * "out of memory", when the arena cannot grow). At most SL_XML_NODES_MAX elements and attributes
 * and SL_WIRE_DEPTH_MAX levels. */
int sl_xml_parse(const char *data, size_t len, sl_arena_t *arena, sl_xml_node_t **root,
                 const char **reason);
/* The first child of `parent` whose local name is `local`, or NULL. */
sl_xml_node_t *sl_xml_child(const sl_xml_node_t *parent, const char *local);
/* The next sibling after `node` with the same local name, or NULL. */
sl_xml_node_t *sl_xml_next_same(const sl_xml_node_t *node);
/* The value of the attribute named exactly `name`, or NULL. */
const char *sl_xml_attr_get(const sl_xml_node_t *node, const char *name);

#endif
