/* REST-JSON request decoding (see rest.h). The texts of conversion errors are Sluice's own (no AWS
 * record of them yet); their type is AWS's SerializationException. */
#include "front/rest.h"

#include "core/common.h"
#include "wire/awserror.h"
#include "wire/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LABELS_MAX 16 /* {labels} in one request URI template (S3 and Lambda use at most 3) */

typedef struct {
    const char *name, *value; /* name: in the template; value: in the request target */
    size_t name_len, value_len;
} label_t;

/* ---- URI templates ---- */

/* Is `key` (klen bytes; with "=value" when the template gives one) a parameter of `query`? */
static bool query_has(const char *query, const char *key, size_t klen) {
    const char *eq = memchr(key, '=', klen);
    for (const char *q = query; q && *q;) {
        size_t n = strcspn(q, "&");
        if (eq ? n == klen && memcmp(q, key, klen) == 0
               : n >= klen && memcmp(q, key, klen) == 0 && (n == klen || q[klen] == '='))
            return true;
        q += n;
        if (*q == '&') q++;
    }
    return false;
}

/* Matches target against tmpl, recording up to LABELS_MAX labels; false when they do not match. */
static bool match(const char *tmpl, const char *target, label_t *labels, size_t *label_count) {
    const char *t = tmpl, *te = tmpl + strcspn(tmpl, "?");
    const char *p = target, *pe = target + strcspn(target, "?");
    size_t n = 0;
    /* A template ending in a literal matches with or without one trailing '/': model versions
     * differ ("/2015-03-31/functions/" in older Lambda models, without the slash in newer). */
    bool loose_slash = te > tmpl && te[-1] != '}';
    if (loose_slash && te[-1] == '/') te--;
    while (t < te) {
        if (*t != '{') {
            if (p >= pe || *p != *t) return false;
            p++;
            t++;
            continue;
        }
        const char *close = memchr(t, '}', (size_t)(te - t));
        if (!close || close == t + 1 || n >= LABELS_MAX) return false;
        bool greedy = close[-1] == '+';
        label_t *l = &labels[n++];
        l->name = t + 1;
        l->name_len = (size_t)(close - t - 1) - greedy;
        t = close + 1;
        const char *end;
        if (greedy) {
            /* the rest of the template is literal: the label takes what comes before it */
            size_t rest = (size_t)(te - t);
            if (memchr(t, '{', rest) || (size_t)(pe - p) <= rest || memcmp(pe - rest, t, rest) != 0)
                return false;
            end = pe - rest;
        } else {
            end = p;
            while (end < pe && *end != '/')
                end++;
        }
        if (end == p) return false; /* labels are never empty */
        l->value = p;
        l->value_len = (size_t)(end - p);
        p = end;
    }
    if (loose_slash && p + 1 == pe && *p == '/') p++;
    if (p != pe) return false;
    te = tmpl + strcspn(tmpl, "?");
    if (*te == '?') {
        const char *query = *pe == '?' ? pe + 1 : NULL;
        for (const char *q = te + 1; *q;) {
            size_t k = strcspn(q, "&");
            /* "x-id=GetObject" (S3) names the operation: AWS does not require it (clients whose
             * models predate it never send it), but one that is sent must match. */
            bool hint = k >= 5 && memcmp(q, "x-id=", 5) == 0 && !query_has(query, "x-id", 4);
            if (k && !hint && !query_has(query, q, k)) return false;
            q += k;
            if (*q == '&') q++;
        }
    }
    *label_count = n;
    return true;
}

bool sl_front_uri_match(const char *request_uri, const char *target) {
    label_t labels[LABELS_MAX];
    size_t n;
    return match(request_uri, target, labels, &n);
}

/* Literal characters of a template's path: how specific it is. Each query parameter the template
 * requires is one more constraint (the x-id hint is none). */
static size_t literal_chars(const char *tmpl) {
    size_t n = 0;
    bool in_label = false;
    const char *t = tmpl;
    for (; *t && *t != '?'; t++) {
        if (*t == '{')
            in_label = true;
        else if (*t == '}')
            in_label = false;
        else if (!in_label)
            n++;
    }
    for (const char *q = *t ? t + 1 : t; *q;) {
        size_t k = strcspn(q, "&");
        if (k && !(k >= 5 && memcmp(q, "x-id=", 5) == 0)) n++;
        q += k;
        if (*q == '&') q++;
    }
    return n;
}

/* Does the request carry every header and query member the operation's input requires? (S3's
 * PutObject, UploadPart, CopyObject and UploadPartCopy share one URI and differ only by the
 * required partNumber and uploadId parameters and x-amz-copy-source header.) Sets *count to the
 * number of such members. */
static bool required_headers_present(const sl_op_t *op, const sl_http_req_t *req,
                                     const char *target, size_t *count) {
    *count = 0;
    const sl_shape_t *in = op->input;
    const char *query = strchr(target, '?');
    for (size_t i = 0; in && i < in->member_count; i++) {
        const sl_member_t *m = &in->members[i];
        if (!m->required) continue;
        if (m->location == SL_LOC_QUERY) {
            if (!query_has(query ? query + 1 : NULL, m->location_name, strlen(m->location_name)))
                return false;
            (*count)++;
            continue;
        }
        if (m->location != SL_LOC_HEADER) continue;
        char lower[128];
        size_t n = strlen(m->location_name);
        if (n >= sizeof lower) return false;
        for (size_t k = 0; k <= n; k++)
            lower[k] = (char)tolower((unsigned char)m->location_name[k]);
        if (!sl_http_req_header(req, lower)) return false;
        (*count)++;
    }
    return true;
}

const sl_op_t *sl_front_rest_find_op_req(const sl_service_model_t *model, const sl_http_req_t *req,
                                         const char *target) {
    const sl_op_t *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < model->op_count; i++) {
        const sl_op_t *op = &model->ops[i];
        size_t headers;
        if (!op->http_method || !op->request_uri || strcmp(op->http_method, req->method) != 0)
            continue;
        if (!sl_front_uri_match(op->request_uri, target)) continue;
        if (!required_headers_present(op, req, target, &headers)) continue;
        size_t score = literal_chars(op->request_uri) + headers;
        if (!best || score > best_score) {
            best = op;
            best_score = score;
        }
    }
    return best;
}

const sl_op_t *sl_front_rest_find_op(const sl_service_model_t *model, const char *method,
                                     const char *target) {
    const sl_op_t *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < model->op_count; i++) {
        const sl_op_t *op = &model->ops[i];
        if (!op->http_method || !op->request_uri || strcmp(op->http_method, method) != 0) continue;
        if (!sl_front_uri_match(op->request_uri, target)) continue;
        size_t score = literal_chars(op->request_uri);
        if (!best || score > best_score) {
            best = op;
            best_score = score;
        }
    }
    return best;
}

/* ---- values ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoded copy (NUL-terminated) in the arena; a '%' not followed by two hex digits stays.
 */
static char *pct_decode(sl_arena_t *a, const char *s, size_t len, size_t *out_len) {
    char *out = sl_arena_alloc(a, len + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = 0;
    *out_len = n;
    return out;
}

typedef struct {
    sl_arena_t *arena;
    sl_front_error_t *err;
} dctx_t;

static int fail(dctx_t *c, const char *fmt, const char *member, const char *text) {
    char buf[512];
    snprintf(buf, sizeof buf, fmt, member, text);
    c->err->type = SL_AWS_SERIALIZATION;
    c->err->message = sl_arena_strndup(c->arena, buf, strlen(buf));
    return -1;
}

static int oom(dctx_t *c) {
    c->err->type = SL_AWS_INTERNAL_FAILURE;
    c->err->message = sl_aws_failure_message(SL_ENOMEM);
    return -1;
}

static sl_val_t *new_val(dctx_t *c, sl_val_type_t type) {
    sl_val_t *v = sl_arena_calloc(c->arena, 1, sizeof *v);
    if (v) v->type = type;
    return v;
}

bool sl_front_parse_time(const char *s, int64_t *ms) {
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    int64_t frac_ms = 0;
    if (end) {
        if (*end == '.') {
            int scale = 100;
            for (end++; isdigit((unsigned char)*end); end++, scale /= 10)
                frac_ms += scale ? (*end - '0') * scale : 0;
        }
        if (strcmp(end, "Z") != 0) return false;
    } else {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end || *end) {
            char *num_end;
            errno = 0;
            double secs = strtod(s, &num_end);
            if (num_end == s || *num_end || errno || secs != secs || secs > 9.2e15 ||
                secs < -9.2e15)
                return false;
            *ms = (int64_t)(secs * 1000.0);
            return true;
        }
    }
    *ms = (int64_t)timegm(&tm) * 1000 + frac_ms;
    return true;
}

/* The value of `text` (NUL-terminated, len bytes) for a scalar member shape. */
static int from_text(dctx_t *c, const sl_member_t *m, const sl_shape_t *s, const char *text,
                     size_t len, sl_val_t **out) {
    sl_val_t *v = NULL;
    switch (s->type) {
    case SL_SHAPE_STRING:
    case SL_SHAPE_BLOB: /* base64 text, decoded by the validator */
        v = new_val(c, SL_VAL_STRING);
        if (v) {
            v->u.str.ptr = text;
            v->u.str.len = len;
        }
        break;
    case SL_SHAPE_INTEGER:
    case SL_SHAPE_LONG:
    case SL_SHAPE_DOUBLE: {
        char *end;
        errno = 0;
        bool integer = s->type != SL_SHAPE_DOUBLE;
        long long i = integer ? strtoll(text, &end, 10) : 0;
        double d = integer ? (double)i : strtod(text, &end);
        if (!len || end != text + len || errno || isspace((unsigned char)text[0]))
            return fail(c, "The value of %s is not a number: '%s'.", m->name, text);
        v = new_val(c, SL_VAL_NUMBER);
        if (v) {
            v->u.num.d = d;
            v->u.num.i = integer ? i
                                 : (d >= 9.2e18    ? INT64_MAX
                                    : d <= -9.2e18 ? INT64_MIN
                                                   : (int64_t)d);
            v->u.num.is_integer = integer;
            v->u.num.text = text;
            v->u.num.text_len = len;
        }
        break;
    }
    case SL_SHAPE_BOOLEAN:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
            return fail(c, "The value of %s is not a boolean: '%s'.", m->name, text);
        v = new_val(c, SL_VAL_BOOL);
        if (v) v->u.b = text[0] == 't';
        break;
    case SL_SHAPE_TIMESTAMP: {
        int64_t ms;
        if (!sl_front_parse_time(text, &ms))
            return fail(c, "The value of %s is not a timestamp: '%s'.", m->name, text);
        v = new_val(c, SL_VAL_TIMESTAMP);
        if (v) v->u.ts_ms = ms;
        break;
    }
    default:
        return fail(c, "%s cannot be sent as text ('%s').", m->name, text);
    }
    if (!v) return oom(c);
    *out = v;
    return 0;
}

/* ---- documents ---- */

typedef struct {
    sl_kv_t *items;
    size_t count, cap;
} kvs_t;

static int kvs_add(dctx_t *c, kvs_t *k, const char *key, size_t key_len, sl_val_t *val) {
    if (k->count == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        sl_kv_t *n = sl_arena_alloc(c->arena, cap * sizeof *n);
        if (!n) return oom(c);
        if (k->count) memcpy(n, k->items, k->count * sizeof *n);
        k->items = n;
        k->cap = cap;
    }
    k->items[k->count++] = (sl_kv_t){.key = key, .key_len = key_len, .val = val};
    return 0;
}

static sl_val_t *kvs_map(dctx_t *c, const kvs_t *k) {
    sl_val_t *v = new_val(c, SL_VAL_MAP);
    if (v) {
        v->u.map.items = k->items;
        v->u.map.count = k->count;
    }
    return v;
}

static int append_item(dctx_t *c, sl_val_t *arr, sl_val_t *item) {
    sl_val_t **n = sl_arena_alloc(c->arena, (arr->u.arr.count + 1) * sizeof *n);
    if (!n) return oom(c);
    if (arr->u.arr.count) memcpy(n, arr->u.arr.items, arr->u.arr.count * sizeof *n);
    n[arr->u.arr.count++] = item;
    arr->u.arr.items = n;
    return 0;
}

/* Is `name` (len bytes) the location name of a query member of `in` other than `self`? */
static bool query_bound(const sl_shape_t *in, const sl_member_t *self, const char *name,
                        size_t len) {
    for (size_t i = 0; i < in->member_count; i++) {
        const sl_member_t *m = &in->members[i];
        if (m != self && m->location == SL_LOC_QUERY && strlen(m->location_name) == len &&
            memcmp(m->location_name, name, len) == 0)
            return true;
    }
    return false;
}

/* The query string member m of `in` (NULL *out when the request has none of it). */
static int query_member(dctx_t *c, const sl_shape_t *in, const sl_member_t *m, const char *query,
                        sl_val_t **out) {
    const sl_shape_t *s = m->shape;
    *out = NULL;
    kvs_t map = {0};
    for (const char *q = query; q && *q;) {
        size_t n = strcspn(q, "&"), klen = strcspn(q, "=&");
        const char *val = klen < n ? q + klen + 1 : q + n;
        size_t vlen = klen < n ? n - klen - 1 : 0;
        size_t key_len, text_len;
        char *key = pct_decode(c->arena, q, klen, &key_len);
        char *text = pct_decode(c->arena, val, vlen, &text_len);
        if (!key || !text) return oom(c);
        q += n;
        if (*q == '&') q++;
        if (s->type == SL_SHAPE_MAP) {
            if (!klen || query_bound(in, m, key, key_len)) continue;
            sl_val_t *v;
            sl_member_t vm = {.name = key, .shape = s->value};
            if (s->value->type == SL_SHAPE_LIST) {
                sl_val_t *arr = NULL; /* a map of lists: repeated keys add to one list */
                for (size_t i = 0; i < map.count; i++)
                    if (map.items[i].key_len == key_len && !memcmp(map.items[i].key, key, key_len))
                        arr = map.items[i].val;
                sl_member_t em = {.name = key, .shape = s->value->member};
                if (from_text(c, &em, s->value->member, text, text_len, &v)) return -1;
                if (!arr) {
                    if (!(arr = new_val(c, SL_VAL_ARRAY))) return oom(c);
                    if (kvs_add(c, &map, key, key_len, arr)) return -1;
                }
                if (append_item(c, arr, v)) return -1;
                continue;
            }
            if (from_text(c, &vm, s->value, text, text_len, &v)) return -1;
            if (kvs_add(c, &map, key, key_len, v)) return -1;
            continue;
        }
        if (key_len != strlen(m->location_name) || memcmp(key, m->location_name, key_len) != 0)
            continue;
        sl_val_t *v;
        if (s->type == SL_SHAPE_LIST) {
            if (!*out && !(*out = new_val(c, SL_VAL_ARRAY))) return oom(c);
            if (from_text(c, m, s->member, text, text_len, &v) || append_item(c, *out, v))
                return -1;
        } else if (!*out) {
            if (from_text(c, m, s, text, text_len, &v)) return -1;
            *out = v; /* the first occurrence, as AWS's frameworks read a single value */
        }
    }
    if (s->type == SL_SHAPE_MAP && map.count && !(*out = kvs_map(c, &map))) return oom(c);
    return 0;
}

/* The header member m (NULL *out when the request has none of it). */
static int header_member(dctx_t *c, const sl_member_t *m, const sl_http_req_t *req,
                         sl_val_t **out) {
    const sl_shape_t *s = m->shape;
    size_t lnlen = strlen(m->location_name);
    *out = NULL;
    if (m->location == SL_LOC_HEADERS) {
        kvs_t map = {0};
        if (s->type != SL_SHAPE_MAP) return fail(c, "%s is not a map%s", m->name, "");
        for (size_t i = 0; i < req->header_count; i++) {
            const sl_http_header_t *h = &req->headers[i];
            if (h->name_len <= lnlen || strncasecmp(h->name, m->location_name, lnlen) != 0)
                continue;
            sl_val_t *v;
            char *text = sl_arena_strndup(c->arena, h->value, h->value_len);
            sl_member_t vm = {.name = m->name, .shape = s->value};
            if (!text) return oom(c);
            if (from_text(c, &vm, s->value, text, h->value_len, &v) ||
                kvs_add(c, &map, h->name + lnlen, h->name_len - lnlen, v))
                return -1;
        }
        if (map.count && !(*out = kvs_map(c, &map))) return oom(c);
        return 0;
    }
    const sl_http_header_t *h = NULL;
    for (size_t i = 0; i < req->header_count && !h; i++)
        if (req->headers[i].name_len == lnlen &&
            strncasecmp(req->headers[i].name, m->location_name, lnlen) == 0)
            h = &req->headers[i];
    if (!h) return 0;
    if (s->type != SL_SHAPE_LIST) {
        char *text = sl_arena_strndup(c->arena, h->value, h->value_len);
        if (!text) return oom(c);
        return from_text(c, m, s, text, h->value_len, out);
    }
    if (!(*out = new_val(c, SL_VAL_ARRAY))) return oom(c);
    for (const char *p = h->value, *e = h->value + h->value_len; p < e;) {
        const char *comma = memchr(p, ',', (size_t)(e - p));
        const char *end = comma ? comma : e;
        while (p < end && *p == ' ')
            p++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        char *text = sl_arena_strndup(c->arena, p, (size_t)(last - p));
        sl_val_t *v;
        if (!text) return oom(c);
        if (from_text(c, m, s->member, text, (size_t)(last - p), &v) || append_item(c, *out, v))
            return -1;
        p = comma ? comma + 1 : e;
    }
    return 0;
}

/* The body: a JSON object, or the payload member. */
static int body_doc(dctx_t *c, const sl_shape_t *in, sl_http_req_t *req, kvs_t *doc) {
    const sl_member_t *payload = NULL;
    for (size_t i = 0; in && in->payload && i < in->member_count; i++)
        if (strcmp(in->members[i].name, in->payload) == 0) payload = &in->members[i];
    if (req->body_len == 0) return 0;
    if (payload && payload->shape->type != SL_SHAPE_STRUCTURE) {
        bool blob = payload->shape->type == SL_SHAPE_BLOB;
        sl_val_t *v = new_val(c, blob ? SL_VAL_BYTES : SL_VAL_STRING);
        char *copy = sl_arena_alloc(c->arena, req->body_len + 1);
        if (!v || !copy) return oom(c);
        memcpy(copy, req->body, req->body_len);
        copy[req->body_len] = 0;
        v->u.str.ptr = copy;
        v->u.str.len = req->body_len;
        return kvs_add(c, doc, payload->name, strlen(payload->name), v);
    }
    sl_val_t *parsed = NULL;
    const char *reason = NULL;
    if (sl_json_parse((char *)req->body, req->body_len, c->arena, &parsed, &reason) != 0 ||
        !parsed || parsed->type != SL_VAL_MAP) {
        c->err->type = SL_AWS_SERIALIZATION;
        c->err->message = NULL;
        return -1;
    }
    if (payload) return kvs_add(c, doc, payload->name, strlen(payload->name), parsed);
    for (size_t i = 0; i < parsed->u.map.count; i++) {
        const sl_kv_t *kv = &parsed->u.map.items[i];
        if (kvs_add(c, doc, kv->key, kv->key_len, kv->val)) return -1;
    }
    return 0;
}

static int decode(const sl_op_t *op, sl_http_req_t *req, const char *target, bool with_body,
                  sl_arena_t *arena, sl_val_t **out, sl_front_error_t *err) {
    dctx_t c = {.arena = arena, .err = err};
    label_t labels[LABELS_MAX];
    size_t label_count = 0;
    if (!op->request_uri || !match(op->request_uri, target, labels, &label_count)) {
        err->type = SL_AWS_SERIALIZATION;
        err->message = "The request target does not match the operation's URI.";
        return -1;
    }
    const sl_shape_t *in = op->input;
    kvs_t doc = {0};
    if (with_body && body_doc(&c, in, req, &doc)) return -1;
    const char *query = strchr(target, '?');
    query = query ? query + 1 : NULL;
    for (size_t i = 0; in && i < in->member_count; i++) {
        const sl_member_t *m = &in->members[i];
        sl_val_t *v = NULL;
        switch (m->location) {
        case SL_LOC_URI:
            for (size_t l = 0; l < label_count; l++) {
                if (labels[l].name_len != strlen(m->location_name) ||
                    memcmp(labels[l].name, m->location_name, labels[l].name_len) != 0)
                    continue;
                size_t len;
                char *text = pct_decode(arena, labels[l].value, labels[l].value_len, &len);
                if (!text) return oom(&c);
                if (from_text(&c, m, m->shape, text, len, &v)) return -1;
            }
            break;
        case SL_LOC_QUERY:
            if (query_member(&c, in, m, query, &v)) return -1;
            break;
        case SL_LOC_HEADER:
        case SL_LOC_HEADERS:
            if (header_member(&c, m, req, &v)) return -1;
            break;
        case SL_LOC_BODY:
        case SL_LOC_STATUS_CODE:
            break;
        }
        if (v && kvs_add(&c, &doc, m->name, strlen(m->name), v)) return -1;
    }
    *out = kvs_map(&c, &doc);
    if (!*out) return oom(&c);
    return 0;
}

int sl_front_rest_decode(const sl_op_t *op, sl_http_req_t *req, sl_arena_t *arena, sl_val_t **out,
                         sl_front_error_t *err) {
    return decode(op, req, req->path, true, arena, out, err);
}

int sl_front_rest_decode_members(const sl_op_t *op, sl_http_req_t *req, const char *target,
                                 sl_arena_t *arena, sl_val_t **out, sl_front_error_t *err) {
    return decode(op, req, target, false, arena, out, err);
}
