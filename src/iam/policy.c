/* IAM policy parsing and evaluation (see policy.h). The document is parsed with the wire layer's
 * JSON parser into statements of string lists; evaluation walks them. */
#include "iam/policy.h"

#include "core/common.h"
#include "wire/json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char **items;
    size_t count;
} strs_t;

typedef struct {
    bool allow;
    bool not_action, not_resource;
    strs_t action, resource;
    strs_t source_ip, not_source_ip; /* IpAddress / NotIpAddress aws:SourceIp */
    int secure_transport;            /* Bool aws:SecureTransport: -1 none, 0 false, 1 true */
    /* sts:ExternalId (a role's trust policy) under StringEquals, StringNotEquals, StringLike and
     * StringNotLike, in that order; count 0 = no such condition */
    strs_t external_id[4];
    bool has_principal; /* a resource policy's statement: principals below */
    strs_t principals;  /* "*", account ids, root ARNs, user ARNs */
    strs_t services;    /* {"Service": ...}: service principals ("lambda.amazonaws.com") */
} statement_t;

struct sl_iam_policy {
    statement_t *statements;
    size_t count;
};

/* ---- matching ---- */

bool sl_iam_glob(const char *p, const char *t, bool fold) {
    const char *star = NULL, *mark = NULL;
    while (*t) {
        if (*p == '*') {
            star = p++;
            mark = t;
        } else if (*p == '?' ||
                   (fold ? tolower((unsigned char)*p) == tolower((unsigned char)*t) : *p == *t)) {
            if (!*p) break;
            p++;
            t++;
        } else if (star) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return !*p;
}

static bool any_glob(const strs_t *s, const char *text, bool fold) {
    for (size_t i = 0; i < s->count; i++)
        if (sl_iam_glob(s->items[i], text, fold)) return true;
    return false;
}

static bool any_exact(const strs_t *s, const char *text) {
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->items[i], text) == 0) return true;
    return false;
}

/* "a.b.c.d/n" (or a bare address, /32) contains ip. */
static bool cidr_contains(const char *cidr, const char *ip) {
    char addr[32];
    const char *slash = strchr(cidr, '/');
    size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
    if (n >= sizeof addr) return false;
    memcpy(addr, cidr, n);
    addr[n] = 0;
    int bits = 32;
    if (slash) {
        bits = 0;
        for (const char *d = slash + 1; *d; d++) {
            if (!isdigit((unsigned char)*d) || bits > 32) return false;
            bits = bits * 10 + (*d - '0');
        }
        if (bits > 32 || !slash[1]) return false;
    }
    struct in_addr a, b;
    if (inet_pton(AF_INET, addr, &a) != 1 || inet_pton(AF_INET, ip, &b) != 1) return false;
    uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
    return (a.s_addr & mask) == (b.s_addr & mask);
}

static bool any_cidr(const strs_t *s, const char *ip) {
    for (size_t i = 0; ip && i < s->count; i++)
        if (cidr_contains(s->items[i], ip)) return true;
    return false;
}

/* A Principal entry names the request's principal: "*", its account (the id or the root ARN),
 * or its own ARN. */
static bool principal_matches(const char *p, const sl_iam_request_t *req) {
    if (strcmp(p, "*") == 0) return true;
    if (req->principal_service) return false; /* a service is named under "Service" */
    const char *acct = req->principal_account;
    if (acct && strcmp(p, acct) == 0) return true;
    if (acct && strncmp(p, "arn:aws:iam::", 13) == 0 && strncmp(p + 13, acct, 12) == 0 &&
        strcmp(p + 25, ":root") == 0)
        return true;
    return req->principal_arn && strcmp(p, req->principal_arn) == 0;
}

static bool applies(const statement_t *st, const sl_iam_request_t *req) {
    if (st->has_principal) {
        bool who = false;
        for (size_t i = 0; i < st->principals.count && !who; i++)
            who = principal_matches(st->principals.items[i], req);
        for (size_t i = 0; i < st->services.count && !who && req->principal_service; i++)
            who = strcmp(st->services.items[i], req->principal_service) == 0;
        if (!who) return false;
    }
    bool a = any_glob(&st->action, req->action, true);
    if (st->not_action ? a : !a) return false;
    bool r = any_glob(&st->resource, req->resource, false);
    if (st->not_resource ? r : !r) return false;
    if (st->source_ip.count && !any_cidr(&st->source_ip, req->source_ip)) return false;
    if (st->not_source_ip.count &&
        (!req->source_ip || any_cidr(&st->not_source_ip, req->source_ip)))
        return false;
    if (st->secure_transport >= 0 && (st->secure_transport == 1) != req->secure_transport)
        return false;
    /* a String* condition on a key the request does not carry: only the negated ones hold */
    const char *ext = req->external_id;
    if (st->external_id[0].count && !(ext && any_exact(&st->external_id[0], ext))) return false;
    if (st->external_id[1].count && ext && any_exact(&st->external_id[1], ext)) return false;
    if (st->external_id[2].count && !(ext && any_glob(&st->external_id[2], ext, false)))
        return false;
    if (st->external_id[3].count && ext && any_glob(&st->external_id[3], ext, false)) return false;
    return true;
}

sl_iam_decision_t sl_iam_policy_decide(const sl_iam_policy_t *policy, const sl_iam_request_t *req) {
    sl_iam_decision_t d = SL_IAM_IMPLICIT_DENY;
    for (size_t i = 0; i < policy->count; i++) {
        const statement_t *st = &policy->statements[i];
        if (!applies(st, req)) continue;
        if (!st->allow) return SL_IAM_EXPLICIT_DENY;
        d = SL_IAM_ALLOW;
    }
    return d;
}

sl_iam_decision_t sl_iam_policies_decide(const sl_iam_policy_t *const *policies, size_t count,
                                         const sl_iam_request_t *req) {
    sl_iam_decision_t d = SL_IAM_IMPLICIT_DENY;
    for (size_t i = 0; i < count; i++) {
        sl_iam_decision_t one = sl_iam_policy_decide(policies[i], req);
        if (one == SL_IAM_EXPLICIT_DENY) return one;
        if (one == SL_IAM_ALLOW) d = one;
    }
    return d;
}

/* ---- parsing ---- */

static bool key_is(const sl_kv_t *kv, const char *name) {
    return kv->key_len == strlen(name) && memcmp(kv->key, name, kv->key_len) == 0;
}

/* A string or a non-empty list of strings. */
static int strings(const sl_val_t *v, sl_arena_t *arena, strs_t *out, const char **reason) {
    if (v->type == SL_VAL_STRING) {
        out->items = sl_arena_alloc(arena, sizeof *out->items);
        if (!out->items) return SL_ENOMEM;
        out->items[0] = v->u.str.ptr;
        out->count = 1;
        return 0;
    }
    if (v->type != SL_VAL_ARRAY || v->u.arr.count == 0) {
        *reason = "an element must be a string or a non-empty list of strings";
        return SL_EINVAL;
    }
    out->items = sl_arena_alloc(arena, v->u.arr.count * sizeof *out->items);
    if (!out->items) return SL_ENOMEM;
    for (size_t i = 0; i < v->u.arr.count; i++) {
        if (v->u.arr.items[i]->type != SL_VAL_STRING) {
            *reason = "a list holds something other than strings";
            return SL_EINVAL;
        }
        out->items[i] = v->u.arr.items[i]->u.str.ptr;
    }
    out->count = v->u.arr.count;
    return 0;
}

static int condition(const sl_val_t *c, sl_arena_t *arena, statement_t *st, const char **reason) {
    if (c->type != SL_VAL_MAP) {
        *reason = "Condition must be an object";
        return SL_EINVAL;
    }
    for (size_t i = 0; i < c->u.map.count; i++) {
        const sl_kv_t *op = &c->u.map.items[i];
        if (op->val->type != SL_VAL_MAP) {
            *reason = "a condition operator must hold an object";
            return SL_EINVAL;
        }
        for (size_t j = 0; j < op->val->u.map.count; j++) {
            const sl_kv_t *k = &op->val->u.map.items[j];
            bool source_ip = k->key_len == strlen("aws:SourceIp") &&
                             strncasecmp(k->key, "aws:SourceIp", k->key_len) == 0;
            bool secure = k->key_len == strlen("aws:SecureTransport") &&
                          strncasecmp(k->key, "aws:SecureTransport", k->key_len) == 0;
            bool external = k->key_len == strlen("sts:ExternalId") &&
                            strncasecmp(k->key, "sts:ExternalId", k->key_len) == 0;
            static const char *const string_ops[4] = {"StringEquals", "StringNotEquals",
                                                      "StringLike", "StringNotLike"};
            int string_op = -1;
            for (int o = 0; o < 4 && string_op < 0; o++)
                if (key_is(op, string_ops[o])) string_op = o;
            strs_t values;
            int rc = strings(k->val, arena, &values, reason);
            if (rc) return rc;
            if (key_is(op, "IpAddress") && source_ip) {
                st->source_ip = values;
            } else if (key_is(op, "NotIpAddress") && source_ip) {
                st->not_source_ip = values;
            } else if (key_is(op, "Bool") && secure && values.count == 1 &&
                       (strcmp(values.items[0], "true") == 0 ||
                        strcmp(values.items[0], "false") == 0)) {
                st->secure_transport = strcmp(values.items[0], "true") == 0;
            } else if (external && string_op >= 0 && values.count > 0) {
                st->external_id[string_op] = values;
            } else {
                *reason = "a condition operator or key is not supported (IpAddress / "
                          "NotIpAddress on aws:SourceIp, Bool on aws:SecureTransport, "
                          "StringEquals / StringNotEquals / StringLike / StringNotLike on "
                          "sts:ExternalId)";
                return SL_EINVAL;
            }
        }
    }
    return 0;
}

/* Principal: "*" or a map of "AWS" and / or "Service", each a string or a list. */
static int principal(const sl_val_t *v, sl_arena_t *arena, statement_t *st, const char **reason) {
    if (v->type == SL_VAL_STRING && strcmp(v->u.str.ptr, "*") == 0)
        return strings(v, arena, &st->principals, reason);
    const sl_val_t *aws = v->type == SL_VAL_MAP ? sl_val_get(v, "AWS") : NULL;
    const sl_val_t *svc = v->type == SL_VAL_MAP ? sl_val_get(v, "Service") : NULL;
    if ((!aws && !svc) || v->u.map.count != (size_t)(aws != NULL) + (svc != NULL)) {
        *reason = "Principal must be \"*\" or {\"AWS\": ..., \"Service\": ...} (other principal "
                  "types are not supported)";
        return SL_EINVAL;
    }
    int rc = aws ? strings(aws, arena, &st->principals, reason) : 0;
    return rc == 0 && svc ? strings(svc, arena, &st->services, reason) : rc;
}

static int statement(const sl_val_t *v, sl_arena_t *arena, bool resource_policy, statement_t *st,
                     const char **reason) {
    memset(st, 0, sizeof *st);
    st->secure_transport = -1;
    if (v->type != SL_VAL_MAP) {
        *reason = "a statement must be an object";
        return SL_EINVAL;
    }
    bool effect = false, action = false, resource = false;
    for (size_t i = 0; i < v->u.map.count; i++) {
        const sl_kv_t *kv = &v->u.map.items[i];
        int rc = 0;
        if (key_is(kv, "Effect")) {
            if (kv->val->type != SL_VAL_STRING ||
                (strcmp(kv->val->u.str.ptr, "Allow") && strcmp(kv->val->u.str.ptr, "Deny"))) {
                *reason = "Effect must be Allow or Deny";
                return SL_EINVAL;
            }
            st->allow = strcmp(kv->val->u.str.ptr, "Allow") == 0;
            effect = true;
        } else if (key_is(kv, "Action") || key_is(kv, "NotAction")) {
            if (action) {
                *reason = "a statement has both Action and NotAction";
                return SL_EINVAL;
            }
            st->not_action = key_is(kv, "NotAction");
            action = true;
            rc = strings(kv->val, arena, &st->action, reason);
        } else if (key_is(kv, "Resource") || key_is(kv, "NotResource")) {
            if (resource) {
                *reason = "a statement has both Resource and NotResource";
                return SL_EINVAL;
            }
            st->not_resource = key_is(kv, "NotResource");
            resource = true;
            rc = strings(kv->val, arena, &st->resource, reason);
        } else if (key_is(kv, "Condition")) {
            rc = condition(kv->val, arena, st, reason);
        } else if (key_is(kv, "Principal") && resource_policy) {
            st->has_principal = true;
            rc = principal(kv->val, arena, st, reason);
        } else if (key_is(kv, "Sid")) {
            if (kv->val->type != SL_VAL_STRING) {
                *reason = "Sid must be a string";
                return SL_EINVAL;
            }
        } else {
            *reason = "a statement holds an element that is not supported (Principal, ...)";
            return SL_EINVAL;
        }
        if (rc) return rc;
    }
    if (resource_policy && !resource) {
        /* a role's trust policy names no resource: the policy's own resource is meant */
        static const char *const any[] = {"*"};
        st->resource = (strs_t){(const char **)any, 1};
        resource = true;
    }
    if (!effect || !action || !resource) {
        *reason = "a statement needs Effect, Action (or NotAction) and Resource (or NotResource)";
        return SL_EINVAL;
    }
    if (resource_policy && !st->has_principal) {
        *reason = "a statement of a resource-based policy needs a Principal";
        return SL_EINVAL;
    }
    return 0;
}

static int parse(const char *text, size_t len, sl_arena_t *arena, bool resource_policy,
                 sl_iam_policy_t **out, const char **reason) {
    *reason = NULL;
    char *copy = sl_arena_alloc(arena, len + 1); /* the parser decodes strings in place */
    sl_iam_policy_t *p = sl_arena_calloc(arena, 1, sizeof *p);
    if (!copy || !p) return SL_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = 0;
    sl_val_t *doc = NULL;
    const char *jreason;
    if (sl_json_parse(copy, len, arena, &doc, &jreason) != 0 || !doc || doc->type != SL_VAL_MAP) {
        *reason = "the document is not a JSON object";
        return SL_EINVAL;
    }
    const sl_val_t *stmts = sl_val_get(doc, "Statement");
    const sl_val_t *version = sl_val_get(doc, "Version");
    if (version && (version->type != SL_VAL_STRING || (strcmp(version->u.str.ptr, "2012-10-17") &&
                                                       strcmp(version->u.str.ptr, "2008-10-17")))) {
        *reason = "Version must be 2012-10-17 or 2008-10-17";
        return SL_EINVAL;
    }
    if (!stmts || (stmts->type != SL_VAL_MAP && stmts->type != SL_VAL_ARRAY) ||
        (stmts->type == SL_VAL_ARRAY && stmts->u.arr.count == 0)) {
        *reason = "Statement must be an object or a non-empty list";
        return SL_EINVAL;
    }
    size_t n = stmts->type == SL_VAL_MAP ? 1 : stmts->u.arr.count;
    p->statements = sl_arena_alloc(arena, n * sizeof *p->statements);
    if (!p->statements) return SL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *v = stmts->type == SL_VAL_MAP ? stmts : stmts->u.arr.items[i];
        int rc = statement(v, arena, resource_policy, &p->statements[i], reason);
        if (rc) return rc;
    }
    p->count = n;
    *out = p;
    return 0;
}

int sl_iam_policy_parse(const char *text, size_t len, sl_arena_t *arena, sl_iam_policy_t **out,
                        const char **reason) {
    return parse(text, len, arena, false, out, reason);
}

int sl_iam_resource_policy_parse(const char *text, size_t len, sl_arena_t *arena,
                                 sl_iam_policy_t **out, const char **reason) {
    return parse(text, len, arena, true, out, reason);
}
