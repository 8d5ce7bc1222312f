/* Prefix expressions, DateTimeFormatter patterns and AWS's key layout (firehose/prefix.h). */
#include "firehose/prefix.h"
#include "test.h"

#include <string.h>

/* 2023-11-14T22:13:20.123Z, a Tuesday, day 318 of the year. */
static const int64_t T = 1700000000123;

static const char *fmt(const char *pattern) {
    static char out[256];
    size_t pos = 0;
    out[0] = 0;
    if (!sl_fh_datetime_format(pattern, strlen(pattern), T, out, sizeof out, &pos))
        return "(does not fit)";
    return out;
}

static const char *eval(const char *prefix, const char *error_prefix, const char *type) {
    static char out[600];
    if (sl_fh_object_prefix(prefix, error_prefix, type, T, 42, out, sizeof out) != 0)
        return "(error)";
    return out;
}

int main(void) {
    /* DateTimeFormatter letters and counts */
    CHECK_EQ_STR(fmt("yyyy/MM/dd/HH/"), "2023/11/14/22/");
    CHECK_EQ_STR(fmt("yy-M-d H:m:s"), "23-11-14 22:13:20");
    CHECK_EQ_STR(fmt("y uuuu yyyyyy"), "2023 2023 002023");
    CHECK_EQ_STR(fmt("MMM MMMM MMMMM"), "Nov November N");
    CHECK_EQ_STR(fmt("E EEE EEEE"), "Tue Tue Tuesday");
    CHECK_EQ_STR(fmt("D DDD"), "318 318");
    CHECK_EQ_STR(fmt("h hh K k a"), "10 10 10 22 PM");
    CHECK_EQ_STR(fmt("S SSS SSSSSS"), "1 123 123000");
    CHECK_EQ_STR(fmt("Q QQQ QQQQ G"), "4 Q4 4th quarter AD");
    CHECK_EQ_STR(fmt("'year='yyyy'''s' ''"), "year=2023's '");
    CHECK_EQ_STR(fmt("[yyyy]"), "2023");
    CHECK(sl_fh_datetime_check("yyyy", 4) == NULL);
    CHECK(sl_fh_datetime_check("ddd", 3) != NULL); /* too many letters */
    CHECK(sl_fh_datetime_check("aa", 2) != NULL);
    CHECK(sl_fh_datetime_check("b", 1) != NULL);  /* unknown letter */
    CHECK(sl_fh_datetime_check("VV", 2) != NULL); /* zones: not formatted */
    CHECK(sl_fh_datetime_check("'x", 2) != NULL); /* unterminated quote */
    CHECK(sl_fh_datetime_check("#", 1) != NULL);  /* reserved */
    CHECK(sl_fh_datetime_check("", 0) != NULL);
    /* dates before 1970 and leap days */
    size_t pos = 0;
    char out[64];
    CHECK(sl_fh_datetime_format("yyyy-MM-dd HH D", 15, -86400000, out, sizeof out, &pos));
    CHECK_EQ_STR(out, "1969-12-31 00 365");
    pos = 0;
    CHECK(sl_fh_datetime_format("yyyy-MM-dd D", 12, 951782400000, out, sizeof out, &pos));
    CHECK_EQ_STR(out, "2000-02-29 60");

    /* AWS's rules for the pair */
    CHECK(sl_fh_prefix_check(NULL, NULL) == NULL);
    CHECK(sl_fh_prefix_check("logs/", NULL) == NULL);
    CHECK(sl_fh_prefix_check("a/!{timestamp:yyyy}/", NULL) != NULL);
    CHECK(sl_fh_prefix_check("a/!{timestamp:yyyy}/", "e/") != NULL);
    CHECK(sl_fh_prefix_check("a/!{timestamp:yyyy}/", "e/!{firehose:error-output-type}/") == NULL);
    CHECK(sl_fh_prefix_check("a/!{firehose:error-output-type}/",
                             "e/!{firehose:error-output-type}") != NULL);
    CHECK(sl_fh_prefix_check("a/!{timestamp:yyyy", "e/!{firehose:error-output-type}") != NULL);
    CHECK(sl_fh_prefix_check("a/!{bad:x}", "e/!{firehose:error-output-type}") != NULL);
    CHECK(sl_fh_prefix_check("a/!{firehose:random-string}", "e/!{firehose:error-output-type}") ==
          NULL);
    CHECK(sl_fh_prefix_check("a/", "e/!{partitionKeyFromQuery:k}/!{firehose:error-output-type}") !=
          NULL);

    /* the key prefixes AWS builds */
    CHECK_EQ_STR(eval(NULL, NULL, NULL), "2023/11/14/22/");
    CHECK_EQ_STR(eval("logs", NULL, NULL), "logs2023/11/14/22/");
    CHECK_EQ_STR(eval("logs/", NULL, NULL), "logs/2023/11/14/22/");
    CHECK_EQ_STR(eval("d=!{timestamp:yyyy-MM-dd}/", "e/!{firehose:error-output-type}/", NULL),
                 "d=2023-11-14/");
    CHECK_EQ_STR(eval("logs/", NULL, "http-endpoint-failed"),
                 "logs/http-endpoint-failed/2023/11/14/22/");
    CHECK_EQ_STR(
        eval("d/", "e/!{firehose:error-output-type}/!{timestamp:yyyy}/", "processing-failed"),
        "e/processing-failed/2023/");
    const char *r = eval("r=!{firehose:random-string}/!{firehose:random-string}/", "e/", NULL);
    CHECK(strlen(r) == 2 + 11 + 1 + 11 + 1 + strlen("2023/11/14/22/"));
    CHECK(r[10] == '-' && memcmp(r + 2, r + 14, 11) != 0); /* a new value per occurrence */
    char same[600];
    snprintf(same, sizeof same, "%s", r);
    CHECK_EQ_STR(eval("r=!{firehose:random-string}/!{firehose:random-string}/", "e/", NULL), same);
    /* 512 characters at most after evaluation */
    char big[600];
    memset(big, 'a', 520);
    big[520] = 0;
    CHECK_EQ_STR(eval(big, NULL, NULL), "(error)");
    TEST_MAIN_END();
}
