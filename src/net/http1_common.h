/* Pieces of HTTP/1.1 head parsing (RFC 9112) shared by the server's request parser
 * (http1_parser.c), the client's response parser (http1_response.c) and the server's header checks
 * (server.c). Internal to the net layer. Static inline so the server's hot request parser keeps
 * them inlined as it did when each file had its own copy. */
#ifndef SL_NET_HTTP1_COMMON_H
#define SL_NET_HTTP1_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* True for a token character (RFC 9110 section 5.6.2). */
static inline bool sl_h1_is_tchar(unsigned char c) {
    /* bit c of this 128-bit set: ALPHA, DIGIT and "!#$%&'*+-.^_`|~" */
    static const uint64_t set[2] = {0x03ff6cfa00000000ull, 0x57ffffffc7fffffeull};
    return c < 128 && ((set[c >> 6] >> (c & 63)) & 1);
}

/* True when a[0..alen) equals `lit` ignoring ASCII case; `lit` must be lower case. */
static inline bool sl_h1_ieq(const char *a, size_t alen, const char *lit) {
    size_t n = strlen(lit);
    if (alen != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != lit[i]) return false;
    }
    return true;
}

/* Finds the end of the head (the byte after the empty line, CR LF or bare LF). Returns 0 when not
 * yet complete; *scan_pos then remembers how far the search got, so the next call with more
 * bytes does not rescan them. */
static inline size_t sl_h1_find_head_end(size_t *scan_pos, const char *data, size_t len) {
    size_t i = *scan_pos;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        if (!nl) {
            i = len;
            break;
        }
        i = (size_t)(nl - data);
        if (i + 1 >= len) break;
        if (data[i + 1] == '\n') return i + 2;
        if (data[i + 1] == '\r') {
            if (i + 2 >= len) break;
            if (data[i + 2] == '\n') return i + 3;
        }
        i++;
    }
    *scan_pos = i;
    return 0;
}

/* Splits off one line from [*pos, end): returns its start, sets *line_len (without CR LF) and
 * moves *pos past the LF. */
static inline char *sl_h1_next_line(char *buf, size_t *pos, size_t end, size_t *line_len) {
    char *start = buf + *pos;
    char *nl = memchr(start, '\n', end - *pos);
    size_t n = nl ? (size_t)(nl - start) : end - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n > 0 && start[n - 1] == '\r') n--;
    *line_len = n;
    return start;
}

/* Parses a Content-Length value: 1 to 18 digits, nothing else (so it cannot overflow). */
static inline bool sl_h1_parse_length(const char *v, size_t n, uint64_t *out) {
    if (n == 0 || n > 18) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

/* The field line's name ends at `colon` (a ':' at index colon > 0): ends the name there with a
 * NUL, sets *name_len, and the value's bounds [*value_start, *value_end) with the blanks around it
 * trimmed. */
static inline void sl_h1_field_at_colon(char *line, size_t n, size_t colon, size_t *name_len,
                                        size_t *value_start, size_t *value_end) {
    line[colon] = 0;
    size_t a = colon + 1, b = n;
    while (a < b && (line[a] == ' ' || line[a] == '\t'))
        a++;
    while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
        b--;
    *name_len = colon;
    *value_start = a;
    *value_end = b;
}

/* Splits a header field line "name: value" of n bytes in place: lowercases the name and ends it
 * with a NUL at the colon, sets *name_len and the value's bounds [*value_start, *value_end) with
 * the blanks around it trimmed. False when the name is not a non-empty token followed by ':'
 * (whitespace before the colon included). The caller checks the value's characters. */
static inline bool sl_h1_split_field(char *line, size_t n, size_t *name_len, size_t *value_start,
                                     size_t *value_end) {
    size_t i = 0;
    while (i < n && sl_h1_is_tchar((unsigned char)line[i])) {
        if (line[i] >= 'A' && line[i] <= 'Z') line[i] = (char)(line[i] - 'A' + 'a');
        i++;
    }
    if (i == 0 || i >= n || line[i] != ':') return false;
    sl_h1_field_at_colon(line, n, i, name_len, value_start, value_end);
    return true;
}

#endif
