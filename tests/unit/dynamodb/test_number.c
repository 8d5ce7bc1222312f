/* DynamoDB numbers (dynamodb/number.c): canonical text, the 38-digit and range rules with
 * DynamoDB's messages, exact order and addition. */
#include "dynamodb/number.h"
#include "test.h"

static const char *canon(const char *in) {
    static char out[SL_DDB_NUM_TEXT_MAX + 1];
    sl_ddb_num_t n;
    if (sl_ddb_num_parse(in, strlen(in), &n) != SL_DDB_NUM_OK) return "(error)";
    sl_ddb_num_format(&n, out);
    return out;
}

static sl_ddb_num_status_t status(const char *in) {
    sl_ddb_num_t n;
    return sl_ddb_num_parse(in, strlen(in), &n);
}

static const char *sum(const char *a, const char *b, bool sub) {
    static char out[SL_DDB_NUM_TEXT_MAX + 1];
    sl_ddb_num_t x, y, z;
    sl_ddb_num_parse(a, strlen(a), &x);
    sl_ddb_num_parse(b, strlen(b), &y);
    if (sl_ddb_num_add(&x, &y, sub, &z) != SL_DDB_NUM_OK) return "(error)";
    sl_ddb_num_format(&z, out);
    return out;
}

static int cmp(const char *a, const char *b) {
    sl_ddb_num_t x, y;
    sl_ddb_num_parse(a, strlen(a), &x);
    sl_ddb_num_parse(b, strlen(b), &y);
    return sl_ddb_num_cmp(&x, &y);
}

int main(void) {
    CHECK_EQ_STR(canon("0"), "0");
    CHECK_EQ_STR(canon("-0.000"), "0");
    CHECK_EQ_STR(canon("+1.50"), "1.5");
    CHECK_EQ_STR(canon("-0.0100e3"), "-10");
    CHECK_EQ_STR(canon(".5"), "0.5");
    CHECK_EQ_STR(canon("5."), "5");
    CHECK_EQ_STR(canon("1E+2"), "100");
    CHECK_EQ_STR(canon("123.456e-5"), "0.00123456");
    CHECK_EQ_STR(canon("00012"), "12");
    CHECK_EQ_STR(canon("9.9999999999999999999999999999999999999E+125"),
                 "999999999999999999999999999999999999990000000000000000000000000000000000000000000"
                 "000000000000000000000000000000000000000000000");
    CHECK(strncmp(canon("1E-130"), "0.0000000000", 12) == 0);
    CHECK_EQ_INT(strlen(canon("1E-130")), 132);
    CHECK_EQ_INT(status("1.00000000000000000000000000000000000000001"), SL_DDB_NUM_PRECISION);
    CHECK_EQ_INT(status("100000000000000000000000000000000000000000000"), SL_DDB_NUM_OK);
    CHECK_EQ_INT(status("1e126"), SL_DDB_NUM_OVERFLOW);
    CHECK_EQ_INT(status("1e-131"), SL_DDB_NUM_UNDERFLOW);
    CHECK_EQ_INT(status("0e999999999"), SL_DDB_NUM_OK);
    const char *bad[] = {"", "-", ".", "1e", "1e+", "abc", "1.2.3", "1 ", "--1", "0x10", "1e5.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(status(bad[i]), SL_DDB_NUM_SYNTAX);
    CHECK_EQ_STR(sl_ddb_num_message(SL_DDB_NUM_PRECISION),
                 "Attempting to store more than 38 significant digits in a Number");
    CHECK_EQ_INT(cmp("1", "1.0"), 0);
    CHECK_EQ_INT(cmp("-1", "0"), -1);
    CHECK_EQ_INT(cmp("-2", "-1"), -1);
    CHECK_EQ_INT(cmp("10", "9.99"), 1);
    CHECK_EQ_INT(cmp("0.001", "0.0001"), 1);
    CHECK_EQ_STR(sum("1", "2", false), "3");
    CHECK_EQ_STR(sum("0.1", "0.2", false), "0.3");
    CHECK_EQ_STR(sum("5", "7.5", true), "-2.5");
    CHECK_EQ_STR(sum("-5", "-5", false), "-10");
    CHECK_EQ_STR(sum("99999999999999999999999999999999999999", "1", false),
                 "100000000000000000000000000000000000000");
    CHECK_EQ_STR(sum("99999999999999999999999999999999999999", "0.1", false), "(error)");
    CHECK_EQ_STR(sum("1e125", "1e-100", false), "(error)");
    CHECK_EQ_STR(sum("12.5", "12.5", true), "0");
    TEST_MAIN_END();
}
