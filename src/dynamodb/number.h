/* DynamoDB numbers (docs/dynamodb.md, "Numbers"): decimal, at most 38 significant digits,
 * magnitude between 1E-130 and 9.99...E+125, or zero. A number is kept as its sign, its
 * significant digits and a decimal exponent, so that equal values have one representation
 * ("1.50", "15e-1" and "+1.5" are the same number) and compare exactly, with no binary floating
 * point anywhere. Parsing follows Java's BigDecimal syntax, which DynamoDB uses: an optional
 * sign, digits with an optional point (".5" and "5." are numbers), an optional exponent. */
#ifndef SL_DYNAMODB_NUMBER_H
#define SL_DYNAMODB_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

#define SL_DDB_NUM_DIGITS_MAX 38 /* DynamoDB: "up to 38 digits of precision" */
#define SL_DDB_NUM_EXP_MAX 126   /* value < 1E+126 */
#define SL_DDB_NUM_EXP_MIN -129  /* value >= 1E-130 */
/* The longest canonical text: sign, "0.", 129 zeros, 38 digits, or 126 digits and a sign. */
#define SL_DDB_NUM_TEXT_MAX 176

/* value = (negative ? -1 : 1) * 0.d1d2...dn * 10^exp; zero has digit_count 0. digits holds
 * '1'..'9' first and last (no leading or trailing zeros). */
typedef struct {
    bool negative;
    int exp;
    int digit_count;
    char digits[SL_DDB_NUM_DIGITS_MAX];
} sl_ddb_num_t;

typedef enum {
    SL_DDB_NUM_OK = 0,
    SL_DDB_NUM_SYNTAX,    /* "The parameter cannot be converted to a numeric value: X" */
    SL_DDB_NUM_PRECISION, /* "Attempting to store more than 38 significant digits in a Number" */
    SL_DDB_NUM_OVERFLOW,  /* "Number overflow. ..." */
    SL_DDB_NUM_UNDERFLOW, /* "Number underflow. ..." */
} sl_ddb_num_status_t;

/* Parses text (len bytes) into *out. */
sl_ddb_num_status_t sl_ddb_num_parse(const char *text, size_t len, sl_ddb_num_t *out);
/* DynamoDB's message for a status (static); SL_DDB_NUM_SYNTAX's text ends with ": " and is
 * followed by the offending text. */
const char *sl_ddb_num_message(sl_ddb_num_status_t status);
/* The canonical text (plain decimal, no exponent, no trailing zeros after the point) into out
 * (at least SL_DDB_NUM_TEXT_MAX + 1 bytes); returns its length. */
size_t sl_ddb_num_format(const sl_ddb_num_t *n, char *out);
/* -1, 0, 1 as a < b, a == b, a > b. */
int sl_ddb_num_cmp(const sl_ddb_num_t *a, const sl_ddb_num_t *b);
/* *out = a + b (subtract: a - b), exactly; an inexact or out-of-range result is an error status,
 * as DynamoDB refuses to store it. */
sl_ddb_num_status_t sl_ddb_num_add(const sl_ddb_num_t *a, const sl_ddb_num_t *b, bool subtract,
                                   sl_ddb_num_t *out);

#endif
