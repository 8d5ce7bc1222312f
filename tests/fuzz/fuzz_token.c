/* Fuzz target for untrusted token and sequence-number text: shard iterators and NextTokens are
 * decoded with a fixed key, and the same bytes are parsed as a sequence number, a shard id, a
 * hash key and an ARN. Nothing may crash; what parses must re-encode consistently. */
#include "core/common.h"
#include "kinesis/hashkey.h"
#include "kinesis/names.h"
#include "kinesis/seqnum.h"
#include "kinesis/token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t key[32] = {0x5a};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;

    sl_iterator_t it;
    if (sl_iterator_decode(key, s, size, &it) == 0) {
        /* Only a token sealed with this key can decode; re-encoding must work. */
        char out[SL_TOKEN_ITERATOR_CHARS_MAX + 1];
        if (sl_iterator_encode(key, &it, out, sizeof out) <= 0) abort();
    }
    uint8_t plain[SL_TOKEN_PLAIN_MAX];
    size_t n = 0;
    (void)sl_token_open(key, s, size, plain, sizeof plain, &n);

    sl_seqnum_t q;
    if (sl_seqnum_parse(s, size, &q) == 0 && q.version == 2) {
        char dec[64];
        size_t m = sl_seqnum_format(&q, dec);
        if (m == 0) abort();
        sl_seqnum_t r;
        if (sl_seqnum_parse(dec, m, &r) != 0 || r.counter != q.counter ||
            r.shard_index != q.shard_index || r.shard_created_s != q.shard_created_s ||
            r.record_s != q.record_s)
            abort();
    }
    if (size > 0 && size < 200) {
        bool digits = true;
        for (size_t i = 0; i < size; i++)
            if (s[i] < '0' || s[i] > '9') digits = false;
        if (digits && sl_seqnum_cmp_dec(s, size, s, size) != 0) abort();
    }

    uint32_t ix;
    if (sl_shardid_parse(s, size, &ix) == 0 && ix > SL_SHARD_INDEX_MAX) abort();
    sl_u128_t h;
    if (sl_hashkey_parse(s, size, &h) == 0) {
        char dec[40];
        sl_hashkey_format(h, dec);
        sl_u128_t h2;
        if (sl_hashkey_parse(dec, strlen(dec), &h2) != 0 || h2 != h) abort();
    }
    sl_arn_t arn;
    if (sl_arn_parse_resource(s, size, &arn) == 0) {
        if (arn.stream_len == 0 || arn.account_len != 12) abort();
    }
    return 0;
}
