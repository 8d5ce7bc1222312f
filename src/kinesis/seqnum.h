/* Public Kinesis sequence numbers (spec §2.1). Sluice prints kinesalite's "version 2" layout so
 * numbers look like AWS's 56-digit decimals and kinesalite's test regexes keep passing:
 *
 *   hex '2' + 9 hex shard-creation epoch seconds + 1 hex (low nibble of the shard index)
 *       + 16 hex shard-local counter (top bit 0) + '00' + 9 hex record epoch seconds
 *       + 8 hex shard index + '2'                                    (47 hex digits)
 *
 * printed as a decimal. The counter is the storage backend's shard-local 64-bit position, so within
 * a shard a larger counter gives a numerically larger sequence number, and a child shard (created
 * at a later second) sorts above its parents. Compare sequence numbers with sl_seqnum_cmp_dec (as
 * big integers), never as strings of different lengths. */
#ifndef SL_KINESIS_SEQNUM_H
#define SL_KINESIS_SEQNUM_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits of the largest value sl_seqnum_format prints (< 1.5 * 2^185 has 56 digits). */
#define SL_SEQNUM_DIGITS_MAX 63
/* Counter of a closed shard's EndingSequenceNumber (kinesalite). */
#define SL_SEQNUM_COUNTER_MAX UINT64_C(0x7fffffffffffffff)
/* Largest shard index a sequence number can carry (kinesalite: top hex digit <= 7). */
#define SL_SEQNUM_SHARD_INDEX_MAX UINT32_C(0x7fffffff)
/* Largest epoch seconds a 9-hex-digit field holds. */
#define SL_SEQNUM_SECONDS_MAX INT64_C(0xfffffffff)

typedef struct {
    int64_t shard_created_s; /* shard creation, epoch seconds */
    uint32_t shard_index;    /* N of shardId-N */
    uint64_t counter;        /* shard-local counter from storage, <= SL_SEQNUM_COUNTER_MAX */
    int64_t record_s;        /* record arrival, epoch seconds */
    int version;             /* 2 for every number Sluice issues; 0 or 1 for old AWS layouts */
} sl_seqnum_t;

/* Prints s in the version 2 layout (s->version is ignored) as a NUL-terminated decimal into out;
 * returns its length (56 for current dates), or 0 when a field does not fit the layout
 * (counter > SL_SEQNUM_COUNTER_MAX, shard_index > SL_SEQNUM_SHARD_INDEX_MAX, a time outside
 * [0, SL_SEQNUM_SECONDS_MAX]). */
size_t sl_seqnum_format(const sl_seqnum_t *s, char out[64]);

/* Consecutive sequence numbers: one shard, one arrival second, counters c, c+1, c+2, ... (the
 * records one PutRecords call appended to one shard). Each next number is the previous one plus
 * 2^80 (one counter step), added in base 10^8 so that only the digits that change are printed
 * again. Owned by the caller; no resources. */
typedef struct {
    sl_seqnum_t cur;  /* the fields of the number in `text` */
    uint32_t limb[7]; /* text in base 10^8, least significant first (when len == 56) */
    char text[64];    /* NUL-terminated, as sl_seqnum_format prints cur */
    size_t len;       /* strlen(text); 0 when cur does not fit the layout */
} sl_seqnum_run_t;

/* Starts a run at *s: run->text = sl_seqnum_format(s); returns run->len. */
size_t sl_seqnum_run_init(sl_seqnum_run_t *run, const sl_seqnum_t *s);
/* Moves to counter + 1: afterwards run->text and the result are exactly what sl_seqnum_format
 * prints for the new counter (0 and "" once the counter passes SL_SEQNUM_COUNTER_MAX). */
size_t sl_seqnum_run_next(sl_seqnum_run_t *run);

/* Parses a decimal sequence number with kinesalite's rules: values below 2^124 get 2^124 added;
 * then a value below 2^129 is version 0; a value in (2^185, 1.5*2^185) has the version in its last
 * hex digit and must be 0, 1 or 2 (0 is read with the version 0 field positions, as kinesalite
 * does); anything else is invalid. Version 2 also requires the counter's and
 * the shard index's top hex digits to be <= 7.
 * Returns 0 and fills *out for versions 0, 1 and 2 (out->version tells which). Versions 0 and 1
 * are old AWS layouts Sluice never issues: only shard_created_s and shard_index (and record_s for
 * version 1) are filled, counter is 0. Callers must treat version != 2 as "did not come from this
 * stream", the same answer kinesalite gives when the version differs from the shard's.
 * Returns SL_EINVAL when s is empty, not all digits, or not a valid number by the rules above. */
int sl_seqnum_parse(const char *dec, size_t len, sl_seqnum_t *out);

/* The StartingSequenceNumber of a shard: counter 0, record time = creation time. */
void sl_seqnum_shard_start(int64_t created_ms, uint32_t index, sl_seqnum_t *out);

/* The EndingSequenceNumber of a closed shard: counter SL_SEQNUM_COUNTER_MAX, record time = close
 * time. */
void sl_seqnum_shard_end(int64_t created_ms, uint32_t index, int64_t closed_ms, sl_seqnum_t *out);

/* Compares two decimal strings (digits only, leading zeros allowed) as unsigned big integers:
 * returns <0, 0 or >0. Inputs must be all digits (validate first). */
int sl_seqnum_cmp_dec(const char *a, size_t alen, const char *b, size_t blen);

#endif
