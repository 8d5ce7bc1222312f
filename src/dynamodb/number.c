/* DynamoDB numbers: parsing, canonical text, comparison, exact addition (see number.h). */
#include "dynamodb/number.h"

#include <string.h>

/* Digits of a decimal with more room than a stored number: an addition of two numbers with
 * exponents 255 apart still fits (the widest the two ranges allow). */
#define WIDE_DIGITS (SL_DDB_NUM_EXP_MAX - SL_DDB_NUM_EXP_MIN + 2 * SL_DDB_NUM_DIGITS_MAX + 2)

/* Builds a number from a digit string with leading/trailing zeros (ASCII '0'..'9'), where the
 * value is 0.digits * 10^exp, and checks the stored number's bounds. */
static sl_ddb_num_status_t normalize(bool negative, const char *digits, int count, long exp,
                                     sl_ddb_num_t *out) {
    int lead = 0;
    while (lead < count && digits[lead] == '0')
        lead++;
    int end = count;
    while (end > lead && digits[end - 1] == '0')
        end--;
    memset(out, 0, sizeof *out);
    if (end == lead) return SL_DDB_NUM_OK; /* zero: no sign */
    exp -= lead;
    if (end - lead > SL_DDB_NUM_DIGITS_MAX) return SL_DDB_NUM_PRECISION;
    if (exp > SL_DDB_NUM_EXP_MAX) return SL_DDB_NUM_OVERFLOW;
    if (exp < SL_DDB_NUM_EXP_MIN) return SL_DDB_NUM_UNDERFLOW;
    out->negative = negative;
    out->exp = (int)exp;
    out->digit_count = end - lead;
    memcpy(out->digits, digits + lead, (size_t)(end - lead));
    return SL_DDB_NUM_OK;
}

sl_ddb_num_status_t sl_ddb_num_parse(const char *text, size_t len, sl_ddb_num_t *out) {
    char digits[WIDE_DIGITS];
    int count = 0, point = -1, seen = 0, dropped = 0;
    size_t i = 0;
    bool negative = false;
    memset(out, 0, sizeof *out);
    if (i < len && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.') {
            if (point >= 0) return SL_DDB_NUM_SYNTAX;
            point = seen;
            continue;
        }
        if (c < '0' || c > '9') break;
        /* Leading zeros carry no digit; digits past the buffer only matter when non-zero. */
        if (count == 0 && c == '0') {
            seen++;
            dropped++;
            continue;
        }
        if (count < (int)sizeof digits)
            digits[count++] = c;
        else if (c != '0')
            return SL_DDB_NUM_PRECISION;
        seen++;
    }
    if (seen == 0) return SL_DDB_NUM_SYNTAX;
    long exp10 = 0;
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
        if (i >= len) return SL_DDB_NUM_SYNTAX;
        for (; i < len; i++) {
            if (text[i] < '0' || text[i] > '9') return SL_DDB_NUM_SYNTAX;
            if (exp10 < 100000000) exp10 = exp10 * 10 + (text[i] - '0');
        }
        if (eneg) exp10 = -exp10;
    }
    if (i != len) return SL_DDB_NUM_SYNTAX;
    /* value = 0.digits * 10^(integer digits after the leading zeros) * 10^exp10 */
    long int_digits = (point < 0 ? seen : point) - dropped;
    return normalize(negative, digits, count, int_digits + exp10, out);
}

const char *sl_ddb_num_message(sl_ddb_num_status_t status) {
    switch (status) {
    case SL_DDB_NUM_SYNTAX:
        return "The parameter cannot be converted to a numeric value: ";
    case SL_DDB_NUM_PRECISION:
        return "Attempting to store more than 38 significant digits in a Number";
    case SL_DDB_NUM_OVERFLOW:
        return "Number overflow. Attempting to store a number with magnitude larger than "
               "supported range";
    case SL_DDB_NUM_UNDERFLOW:
        return "Number underflow. Attempting to store a number with magnitude smaller than "
               "supported range";
    case SL_DDB_NUM_OK:
        break;
    }
    return "";
}

size_t sl_ddb_num_format(const sl_ddb_num_t *n, char *out) {
    size_t o = 0;
    if (n->digit_count == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    if (n->negative) out[o++] = '-';
    if (n->exp <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n->exp; i++)
            out[o++] = '0';
        memcpy(out + o, n->digits, (size_t)n->digit_count);
        o += (size_t)n->digit_count;
    } else {
        for (int i = 0; i < n->exp; i++)
            out[o++] = i < n->digit_count ? n->digits[i] : '0';
        if (n->digit_count > n->exp) {
            out[o++] = '.';
            memcpy(out + o, n->digits + n->exp, (size_t)(n->digit_count - n->exp));
            o += (size_t)(n->digit_count - n->exp);
        }
    }
    out[o] = 0;
    return o;
}

static int cmp_magnitude(const sl_ddb_num_t *a, const sl_ddb_num_t *b) {
    if (a->exp != b->exp) return a->exp < b->exp ? -1 : 1;
    int n = a->digit_count > b->digit_count ? a->digit_count : b->digit_count;
    for (int i = 0; i < n; i++) {
        char x = i < a->digit_count ? a->digits[i] : '0';
        char y = i < b->digit_count ? b->digits[i] : '0';
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

int sl_ddb_num_cmp(const sl_ddb_num_t *a, const sl_ddb_num_t *b) {
    int sa = a->digit_count == 0 ? 0 : a->negative ? -1 : 1;
    int sb = b->digit_count == 0 ? 0 : b->negative ? -1 : 1;
    if (sa != sb) return sa < sb ? -1 : 1;
    if (sa == 0) return 0;
    int m = cmp_magnitude(a, b);
    return sa > 0 ? m : -m;
}

/* Writes the digits of n into w (WIDE_DIGITS wide, value 0.w * 10^top) as integers 0..9. */
static void widen(const sl_ddb_num_t *n, int top, int w[WIDE_DIGITS]) {
    memset(w, 0, sizeof(int) * WIDE_DIGITS);
    int shift = top - n->exp;
    for (int i = 0; i < n->digit_count; i++)
        w[1 + shift + i] = n->digits[i] - '0';
}

sl_ddb_num_status_t sl_ddb_num_add(const sl_ddb_num_t *a, const sl_ddb_num_t *b, bool subtract,
                                   sl_ddb_num_t *out) {
    sl_ddb_num_t nb = *b;
    if (subtract && nb.digit_count) nb.negative = !nb.negative;
    if (a->digit_count == 0) {
        *out = nb;
        return SL_DDB_NUM_OK;
    }
    if (nb.digit_count == 0) {
        *out = *a;
        return SL_DDB_NUM_OK;
    }
    /* Align both at the larger exponent, one guard digit in front for the carry. */
    int top = a->exp > nb.exp ? a->exp : nb.exp;
    int wa[WIDE_DIGITS], wb[WIDE_DIGITS], r[WIDE_DIGITS];
    widen(a, top, wa);
    widen(&nb, top, wb);
    bool negative;
    if (a->negative == nb.negative) {
        int carry = 0;
        for (int i = WIDE_DIGITS - 1; i >= 0; i--) {
            int s = wa[i] + wb[i] + carry;
            r[i] = s % 10;
            carry = s / 10;
        }
        negative = a->negative;
    } else {
        /* Subtract the smaller magnitude from the larger. */
        int m = cmp_magnitude(a, &nb);
        if (m == 0) {
            memset(out, 0, sizeof *out);
            return SL_DDB_NUM_OK;
        }
        const int *x = m > 0 ? wa : wb, *y = m > 0 ? wb : wa;
        int borrow = 0;
        for (int i = WIDE_DIGITS - 1; i >= 0; i--) {
            int s = x[i] - y[i] - borrow;
            borrow = s < 0;
            r[i] = s < 0 ? s + 10 : s;
        }
        negative = m > 0 ? a->negative : nb.negative;
    }
    char text[WIDE_DIGITS];
    for (int i = 0; i < WIDE_DIGITS; i++)
        text[i] = (char)('0' + r[i]);
    return normalize(negative, text, WIDE_DIGITS, (long)top + 1, out);
}
