/* XML writer and non-validating parser (see xml.h for what is accepted and why). */
#include "wire/xml.h"

#include "core/common.h"
#include "core/limits.h"
#include "wire/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static_assert(SL_WIRE_DEPTH_MAX == 64, "sl_xml_writer_t.stack is sized by SL_WIRE_DEPTH_MAX");

/* ---- writer ---- */

void sl_xml_writer_init(sl_xml_writer_t *w, sl_buf_t *out) {
    memset(w, 0, sizeof(*w));
    w->out = out;
}

void sl_xml_declaration(sl_xml_writer_t *w) {
    sl_buf_append_str(w->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

static void end_tag_open(sl_xml_writer_t *w) {
    if (!w->tag_open) return;
    sl_buf_append_byte(w->out, '>');
    w->tag_open = false;
}

void sl_xml_escape(sl_buf_t *out, const char *s, size_t len, bool attribute) {
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        char num[8];
        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"' && attribute)
            rep = "&quot;";
        else if (c == '\r' || c == 0x7f || (c < 0x20 && (attribute || (c != '\t' && c != '\n')))) {
            /* \r would become \n and tabs or newlines in attributes spaces: as references they
             * survive; the other controls are not XML 1.0 characters at all, written the same way
             * so nothing is lost (S3 does this for keys). */
            snprintf(num, sizeof(num), "&#%u;", c);
            rep = num;
        }
        if (!rep) continue;
        sl_buf_append(out, s + run, i - run);
        sl_buf_append_str(out, rep);
        run = i + 1;
    }
    sl_buf_append(out, s + run, len - run);
}

void sl_xml_open(sl_xml_writer_t *w, const char *name, const char *xmlns) {
    end_tag_open(w);
    if (w->depth >= (int)SL_ARRAY_LEN(w->stack)) {
        w->out->failed = true;
        return;
    }
    w->stack[w->depth++] = name;
    sl_buf_append_byte(w->out, '<');
    sl_buf_append_str(w->out, name);
    w->tag_open = true;
    if (xmlns) sl_xml_attr(w, "xmlns", xmlns);
}

void sl_xml_attr(sl_xml_writer_t *w, const char *name, const char *value) {
    if (!w->tag_open) {
        w->out->failed = true; /* programmer error, reported like any failed write */
        return;
    }
    sl_buf_append_byte(w->out, ' ');
    sl_buf_append_str(w->out, name);
    sl_buf_append_str(w->out, "=\"");
    sl_xml_escape(w->out, value, strlen(value), true);
    sl_buf_append_byte(w->out, '"');
}

void sl_xml_text(sl_xml_writer_t *w, const char *text, size_t len) {
    end_tag_open(w);
    sl_xml_escape(w->out, text, len, false);
}

void sl_xml_close(sl_xml_writer_t *w) {
    if (w->depth == 0) {
        w->out->failed = true;
        return;
    }
    end_tag_open(w);
    const char *name = w->stack[--w->depth];
    sl_buf_append_str(w->out, "</");
    sl_buf_append_str(w->out, name);
    sl_buf_append_byte(w->out, '>');
}

void sl_xml_finish(sl_xml_writer_t *w) {
    while (w->depth > 0)
        sl_xml_close(w);
}

void sl_xml_element_len(sl_xml_writer_t *w, const char *name, const char *text, size_t len) {
    sl_xml_open(w, name, NULL);
    sl_xml_text(w, text, len);
    sl_xml_close(w);
}

void sl_xml_element(sl_xml_writer_t *w, const char *name, const char *text) {
    sl_xml_element_len(w, name, text, strlen(text));
}

void sl_xml_element_fmt(sl_xml_writer_t *w, const char *name, const char *fmt, ...) {
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->out->failed = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sl_xml_element_len(w, name, small, (size_t)n);
        return;
    }
    sl_buf_t big = SL_BUF_INIT;
    va_start(ap, fmt);
    sl_buf_vprintf(&big, fmt, ap);
    va_end(ap);
    if (sl_buf_failed(&big))
        w->out->failed = true;
    else
        sl_xml_element_len(w, name, big.data, big.len);
    sl_buf_free(&big);
}

/* ---- parser ---- */

typedef struct {
    const char *p, *end;
    sl_arena_t *arena;
    const char *reason;
    int rc;
    size_t nodes;
    sl_buf_t text[SL_WIRE_DEPTH_MAX]; /* character data of each open element */
    sl_xml_node_t *last_child[SL_WIRE_DEPTH_MAX];
} parser_t;

static int fail(parser_t *ps, const char *reason) {
    if (ps->rc == 0) {
        ps->rc = SL_EINVAL;
        ps->reason = reason;
    }
    return ps->rc;
}

static int oom(parser_t *ps) {
    if (ps->rc == 0) {
        ps->rc = SL_ENOMEM;
        ps->reason = "out of memory";
    }
    return ps->rc;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool name_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c) {
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool starts(const parser_t *ps, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

static void skip_space(parser_t *ps) {
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
}

/* Advances past the next `lit`; fails with `reason` when it never comes. */
static int skip_past(parser_t *ps, const char *lit, const char *reason) {
    size_t n = strlen(lit);
    const char *hit = memmem(ps->p, (size_t)(ps->end - ps->p), lit, n);
    if (!hit) return fail(ps, reason);
    ps->p = hit + n;
    return 0;
}

static int parse_name(parser_t *ps, const char **out) {
    const char *start = ps->p;
    if (ps->p >= ps->end || !name_start((unsigned char)*ps->p)) return fail(ps, "expected a name");
    while (ps->p < ps->end && name_char((unsigned char)*ps->p))
        ps->p++;
    *out = sl_arena_strndup(ps->arena, start, (size_t)(ps->p - start));
    return *out ? 0 : oom(ps);
}

static void append_utf8(sl_buf_t *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sl_buf_append(b, u, n);
}

static bool xml_char(uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* At '&': decodes one reference into `b`. */
static int parse_reference(parser_t *ps, sl_buf_t *b) {
    const char *semi = memchr(ps->p, ';', (size_t)SL_MIN(ps->end - ps->p, 16));
    if (!semi) return fail(ps, "unterminated reference");
    const char *s = ps->p + 1;
    size_t n = (size_t)(semi - s);
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    if (n > 0 && s[0] == '#') {
        bool hex = n > 1 && s[1] == 'x';
        size_t i = hex ? 2 : 1;
        if (i >= n) return fail(ps, "empty character reference");
        uint32_t cp = 0;
        for (; i < n; i++) {
            char c = s[i];
            uint32_t d;
            if (c >= '0' && c <= '9')
                d = (uint32_t)(c - '0');
            else if (hex && c >= 'a' && c <= 'f')
                d = (uint32_t)(c - 'a' + 10);
            else if (hex && c >= 'A' && c <= 'F')
                d = (uint32_t)(c - 'A' + 10);
            else
                return fail(ps, "bad character reference");
            cp = cp * (hex ? 16 : 10) + d;
            if (cp > 0x10FFFF) return fail(ps, "character reference out of range");
        }
        if (!xml_char(cp)) return fail(ps, "character reference to a non-XML character");
        append_utf8(b, cp);
        ps->p = semi + 1;
        return 0;
    }
    for (size_t k = 0; k < SL_ARRAY_LEN(named); k++) {
        if (strlen(named[k].name) == n && memcmp(named[k].name, s, n) == 0) {
            sl_buf_append_byte(b, (uint8_t)named[k].c);
            ps->p = semi + 1;
            return 0;
        }
    }
    return fail(ps, "undefined entity");
}

/* Appends raw bytes [s, e) to `b` with XML's line-end normalisation (\r\n and \r become \n); in
 * attribute values every whitespace character becomes a space. */
static void append_normalised(sl_buf_t *b, const char *s, const char *e, bool attribute) {
    while (s < e) {
        const char *cr = memchr(s, '\r', (size_t)(e - s));
        const char *stop = cr ? cr : e;
        if (attribute) {
            for (const char *q = s; q < stop; q++)
                sl_buf_append_byte(b, (*q == '\t' || *q == '\n') ? ' ' : (uint8_t)*q);
        } else {
            sl_buf_append(b, s, (size_t)(stop - s));
        }
        if (!cr) break;
        sl_buf_append_byte(b, attribute ? ' ' : '\n');
        s = cr + 1;
        if (s < e && *s == '\n') s++;
    }
}

/* Character data (or an attribute value when `quote` is set) up to '<' or the quote. */
static int parse_chars(parser_t *ps, sl_buf_t *b, char quote) {
    while (ps->p < ps->end) {
        const char *s = ps->p;
        while (ps->p < ps->end && *ps->p != '<' && *ps->p != '&' && *ps->p != quote)
            ps->p++;
        append_normalised(b, s, ps->p, quote != 0);
        if (ps->p >= ps->end || *ps->p != '&') break;
        if (parse_reference(ps, b) != 0) return ps->rc;
    }
    if (sl_buf_failed(b)) return oom(ps);
    return 0;
}

static int count_node(parser_t *ps) {
    if (++ps->nodes > SL_XML_NODES_MAX) return fail(ps, "too many XML nodes");
    return 0;
}

/* After '<' of a start tag: the name, the attributes and '>' or '/>'. */
static int parse_start_tag(parser_t *ps, sl_xml_node_t *node, bool *empty) {
    if (parse_name(ps, &node->name) != 0) return ps->rc;
    const char *colon = strchr(node->name, ':');
    node->local = colon ? colon + 1 : node->name;
    node->text = "";
    sl_xml_attr_t *last = NULL;
    int attrs = 0;
    for (;;) {
        bool had_space = ps->p < ps->end && is_space(*ps->p);
        skip_space(ps);
        if (ps->p >= ps->end) return fail(ps, "unterminated start tag");
        if (*ps->p == '>') {
            ps->p++;
            *empty = false;
            return 0;
        }
        if (starts(ps, "/>")) {
            ps->p += 2;
            *empty = true;
            return 0;
        }
        if (!had_space) return fail(ps, "expected whitespace before an attribute");
        if (++attrs > SL_XML_ATTRS_MAX) return fail(ps, "too many attributes");
        if (count_node(ps) != 0) return ps->rc;
        sl_xml_attr_t *a = sl_arena_calloc(ps->arena, 1, sizeof(*a));
        if (!a) return oom(ps);
        if (parse_name(ps, &a->name) != 0) return ps->rc;
        for (sl_xml_attr_t *o = node->attrs; o; o = o->next)
            if (strcmp(o->name, a->name) == 0) return fail(ps, "duplicate attribute");
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != '=') return fail(ps, "expected '=' after attribute name");
        ps->p++;
        skip_space(ps);
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) {
            return fail(ps, "expected a quoted attribute value");
        }
        char quote = *ps->p++;
        sl_buf_t v = SL_BUF_INIT;
        int rc = parse_chars(ps, &v, quote);
        if (rc == 0 && (ps->p >= ps->end || *ps->p != quote)) {
            rc = fail(ps, ps->p < ps->end ? "'<' in attribute value" : "unterminated attribute");
        }
        if (rc == 0) {
            ps->p++;
            a->value = sl_arena_strndup(ps->arena, v.data ? v.data : "", v.len);
            a->value_len = v.len;
            if (!a->value) rc = oom(ps);
        }
        sl_buf_free(&v);
        if (rc != 0) return rc;
        if (last)
            last->next = a;
        else
            node->attrs = a;
        last = a;
    }
}

/* At "<!--": skips the comment ("--" may appear only in its end). */
static int skip_comment(parser_t *ps) {
    ps->p += 4;
    if (skip_past(ps, "--", "unterminated comment") != 0) return ps->rc;
    if (ps->p >= ps->end || *ps->p != '>') return fail(ps, "'--' inside a comment");
    ps->p++;
    return 0;
}

/* Comments, processing instructions and whitespace outside the root element. */
static int parse_misc(parser_t *ps) {
    for (;;) {
        skip_space(ps);
        if (starts(ps, "<!--")) {
            if (skip_comment(ps) != 0) return ps->rc;
        } else if (starts(ps, "<?")) {
            if (skip_past(ps, "?>", "unterminated processing instruction") != 0) return ps->rc;
        } else if (starts(ps, "<!")) {
            return fail(ps, "DOCTYPE and DTDs are not accepted");
        } else {
            return 0;
        }
    }
}

static int finish_node(parser_t *ps, sl_xml_node_t *node, int depth) {
    sl_buf_t *b = &ps->text[depth];
    if (sl_buf_failed(b)) return oom(ps);
    if (b->len > 0) {
        node->text = sl_arena_strndup(ps->arena, b->data, b->len);
        if (!node->text) return oom(ps);
        node->text_len = b->len;
    }
    return 0;
}

/* Opens a new element at '<' (ps->p past it); `depth` is its level. Sets *out and *empty. */
static int open_element(parser_t *ps, sl_xml_node_t *parent, int depth, sl_xml_node_t **out,
                        bool *empty) {
    if (depth >= SL_WIRE_DEPTH_MAX) return fail(ps, "XML nested too deeply");
    if (count_node(ps) != 0) return ps->rc;
    sl_xml_node_t *node = sl_arena_calloc(ps->arena, 1, sizeof(*node));
    if (!node) return oom(ps);
    node->parent = parent;
    if (parse_start_tag(ps, node, empty) != 0) return ps->rc;
    if (parent) {
        if (ps->last_child[depth - 1])
            ps->last_child[depth - 1]->next = node;
        else
            parent->first_child = node;
        ps->last_child[depth - 1] = node;
    }
    ps->last_child[depth] = NULL;
    sl_buf_reset(&ps->text[depth]);
    *out = node;
    return 0;
}

static int parse_document(parser_t *ps, sl_xml_node_t **root) {
    if (starts(ps, "\xEF\xBB\xBF")) ps->p += 3;
    if (parse_misc(ps) != 0) return ps->rc;
    if (ps->p >= ps->end || *ps->p != '<') return fail(ps, "expected the root element");
    ps->p++;
    bool empty;
    sl_xml_node_t *cur = NULL;
    if (open_element(ps, NULL, 0, &cur, &empty) != 0) return ps->rc;
    *root = cur;
    int depth = 0;
    if (empty) {
        if (finish_node(ps, cur, 0) != 0) return ps->rc;
        cur = NULL;
    }
    while (cur) {
        if (ps->p >= ps->end) return fail(ps, "unterminated element");
        if (*ps->p != '<') {
            if (parse_chars(ps, &ps->text[depth], 0) != 0) return ps->rc;
            continue;
        }
        if (starts(ps, "</")) {
            ps->p += 2;
            size_t n = strlen(cur->name);
            if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, cur->name, n) != 0) {
                return fail(ps, "mismatched end tag");
            }
            ps->p += n;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != '>') return fail(ps, "mismatched end tag");
            ps->p++;
            if (finish_node(ps, cur, depth) != 0) return ps->rc;
            cur = cur->parent;
            depth--;
        } else if (starts(ps, "<!--")) {
            if (skip_comment(ps) != 0) return ps->rc;
        } else if (starts(ps, "<![CDATA[")) {
            ps->p += 9;
            const char *s = ps->p;
            if (skip_past(ps, "]]>", "unterminated CDATA section") != 0) return ps->rc;
            append_normalised(&ps->text[depth], s, ps->p - 3, false);
        } else if (starts(ps, "<?")) {
            if (skip_past(ps, "?>", "unterminated processing instruction") != 0) return ps->rc;
        } else if (starts(ps, "<!")) {
            return fail(ps, "markup declarations are not accepted");
        } else {
            ps->p++;
            sl_xml_node_t *child = NULL;
            if (open_element(ps, cur, depth + 1, &child, &empty) != 0) return ps->rc;
            if (empty) {
                if (finish_node(ps, child, depth + 1) != 0) return ps->rc;
            } else {
                cur = child;
                depth++;
            }
        }
    }
    if (parse_misc(ps) != 0) return ps->rc;
    if (ps->p != ps->end) return fail(ps, "content after the root element");
    return 0;
}

int sl_xml_parse(const char *data, size_t len, sl_arena_t *arena, sl_xml_node_t **root,
                 const char **reason) {
    *root = NULL;
    *reason = NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
            *reason = "invalid character in XML";
            return SL_EINVAL;
        }
    }
    if (!sl_utf8_valid((const uint8_t *)data, len)) {
        *reason = "XML is not valid UTF-8";
        return SL_EINVAL;
    }
    parser_t *ps = calloc(1, sizeof(*ps));
    if (!ps) {
        *reason = "out of memory";
        return SL_ENOMEM;
    }
    ps->p = data;
    ps->end = data + len;
    ps->arena = arena;
    sl_xml_node_t *r = NULL;
    int rc = parse_document(ps, &r);
    for (size_t i = 0; i < SL_ARRAY_LEN(ps->text); i++)
        sl_buf_free(&ps->text[i]);
    if (rc == 0)
        *root = r;
    else
        *reason = ps->reason;
    free(ps);
    return rc;
}

sl_xml_node_t *sl_xml_child(const sl_xml_node_t *parent, const char *local) {
    for (sl_xml_node_t *c = parent ? parent->first_child : NULL; c; c = c->next)
        if (strcmp(c->local, local) == 0) return c;
    return NULL;
}

sl_xml_node_t *sl_xml_next_same(const sl_xml_node_t *node) {
    for (sl_xml_node_t *c = node->next; c; c = c->next)
        if (strcmp(c->local, node->local) == 0) return c;
    return NULL;
}

const char *sl_xml_attr_get(const sl_xml_node_t *node, const char *name) {
    for (sl_xml_attr_t *a = node->attrs; a; a = a->next)
        if (strcmp(a->name, name) == 0) return a->value;
    return NULL;
}
