/* Fuzz target: DynamoDB numbers. Any text parses or fails with a status; a parsed number formats
 * to a text that parses to the same number, compares equal to itself, and adds to itself or
 * subtracts from itself without crashing (the difference is zero). */
#include "dynamodb/number.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_ddb_num_t n, m, z;
    if (sl_ddb_num_parse((const char *)data, size, &n) != SL_DDB_NUM_OK) return 0;
    char text[SL_DDB_NUM_TEXT_MAX + 1];
    size_t len = sl_ddb_num_format(&n, text);
    if (len > SL_DDB_NUM_TEXT_MAX) abort();
    if (sl_ddb_num_parse(text, len, &m) != SL_DDB_NUM_OK) abort();
    if (sl_ddb_num_cmp(&n, &m) != 0) abort();
    if (sl_ddb_num_add(&n, &m, true, &z) != SL_DDB_NUM_OK || z.digit_count != 0) abort();
    (void)sl_ddb_num_add(&n, &m, false, &z);
    return 0;
}
