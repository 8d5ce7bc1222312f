/* Pieces of HTTP/1.1 head parsing (RFC 9112) shared by the server's request parser
 * (http1_parser.c), the client's response parser (http1_response.c) and the server's header checks
 * (server.c). Internal to the net layer. Static inline so the server's hot request parser keeps
 * them inlined as it did when each file had its own copy. */
#ifndef SL_NET_HTTP1_COMMON_H
#define SL_NET_HTTP1_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* True for a token character (RFC 9110 section 5.6.2). */
static inline bool sl_h1_is_tchar(unsigned char c) {
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != 0 && strchr(extra, c) != NULL;
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

#endif
