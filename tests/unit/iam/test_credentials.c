/* Unit tests of the credentials file (iam/credentials.c): the INI format the AWS tools write, the
 * Sluice keys, the errors a user sees (with the line), and the re-read of a changed file. */
#include "test.h"

#include "core/common.h"
#include "iam/credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static sl_iam_principal_t ps[8];
static size_t n;
static const char *reason;
static int line;

static int parse(const char *text) {
    return sl_iam_creds_parse(text, strlen(text), "000000000000", ps, 8, &n, &reason, &line);
}

static void expect_error(const char *text, int want_line, const char *want_reason) {
    CHECK_EQ_INT(parse(text), SL_EINVAL);
    CHECK_EQ_INT(line, want_line);
    CHECK_EQ_STR(reason, want_reason);
}

static void test_parse(void) {
    CHECK_EQ_INT(parse("# principals\n"
                       "[admin]\n"
                       "aws_access_key_id = AKIAADMIN\r\n"
                       "  aws_secret_access_key=  a/b+c=  \n"
                       "admin = true\n"
                       "\n"
                       "; another\n"
                       "[ app ]\n"
                       "aws_access_key_id = AKIAAPP\n"
                       "aws_secret_access_key = s2\n"
                       "account_id = 111122223333\n"
                       "aws_session_token = tok==\n"
                       "expiration = 2030-01-02T03:04:05Z\n"
                       "region = eu-west-1\n"),
                 0);
    CHECK_EQ_INT((int)n, 2);
    CHECK_EQ_STR(ps[0].user_name, "admin");
    CHECK_EQ_STR(ps[0].access_key_id, "AKIAADMIN");
    CHECK_EQ_STR(ps[0].secret, "a/b+c=");
    CHECK_EQ_STR(ps[0].account_id, "000000000000");
    CHECK(ps[0].admin);
    CHECK_EQ_STR(ps[0].session_token, "");
    CHECK(ps[0].expiration_s == 0);
    CHECK_EQ_STR(ps[1].user_name, "app");
    CHECK_EQ_STR(ps[1].account_id, "111122223333");
    CHECK(!ps[1].admin);
    CHECK_EQ_STR(ps[1].session_token, "tok==");
    CHECK(ps[1].expiration_s == 1893553445);
    CHECK_EQ_INT(parse(""), 0);
    CHECK_EQ_INT((int)n, 0);
}

static void test_errors(void) {
    expect_error("[a]\naws_access_key_id=K\n", 1, "a section has no aws_secret_access_key");
    expect_error("[a]\naws_secret_access_key=S\n[b]\n", 1, "a section has no aws_access_key_id");
    expect_error("aws_access_key_id=K\n", 1, "a key = value line comes before the first [section]");
    expect_error("[a\n", 1, "a section header does not end with ']'");
    expect_error("[]\n", 1, "a section name is empty or too long");
    expect_error("[a]\nfoo\n", 2, "a line is neither a [section] nor key = value");
    expect_error("[a]\naws_access_key_id=K\naws_secret_access_key=S\nadmin=yes\n", 4,
                 "admin must be true or false");
    expect_error("[a]\naccount_id=1234\n", 2, "account_id must be 12 digits");
    expect_error("[a]\nexpiration=tomorrow\n", 2,
                 "expiration must be a time like 2026-12-31T00:00:00Z");
    expect_error("[a]\naws_access_key_id=K\naws_secret_access_key=S\n"
                 "[b]\naws_access_key_id=K\naws_secret_access_key=T\n",
                 0, "two sections have the same aws_access_key_id");
    char many[800];
    size_t used = 0;
    for (int i = 0; i < 9; i++)
        used += (size_t)snprintf(many + used, sizeof many - used,
                                 "[u%d]\naws_access_key_id=K%d\naws_secret_access_key=S\n", i, i);
    expect_error(many, 25, "too many principals (SL_AUTH_FILE_PRINCIPALS_MAX)");
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void test_reload(void) {
    char dir[] = "/tmp/sl-creds-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/credentials", dir);
    write_file(path, "[a]\naws_access_key_id=K1\naws_secret_access_key=S1\n");
    sl_iam_creds_t *c;
    CHECK_EQ_INT(sl_iam_creds_open(path, "123456789012", &c), 0);
    sl_iam_principal_t p;
    CHECK_EQ_INT(sl_iam_creds_lookup(c, "K1", &p), 0);
    CHECK_EQ_STR(p.secret, "S1");
    CHECK_EQ_STR(p.account_id, "123456789012");
    CHECK_EQ_INT(sl_iam_creds_lookup(c, "K2", &p), SL_ENOTFOUND);
    /* A new file (another inode, as editors and `mv` make) is read at the next check. */
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s/new", dir);
    write_file(tmp, "[b]\naws_access_key_id=K2\naws_secret_access_key=S2\n");
    CHECK_EQ_INT(rename(tmp, path), 0);
    int rc = SL_ENOTFOUND;
    for (int i = 0; i < 300 && rc != 0; i++) { /* checked at most every SL_AUTH_FILE_CHECK_MS */
        rc = sl_iam_creds_lookup(c, "K2", &p);
        if (rc) usleep(10000);
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(sl_iam_creds_lookup(c, "K1", &p), SL_ENOTFOUND);
    /* A broken file keeps the last good principals. */
    snprintf(tmp, sizeof tmp, "%s/broken", dir);
    write_file(tmp, "[broken\n");
    CHECK_EQ_INT(rename(tmp, path), 0);
    usleep((SL_AUTH_FILE_CHECK_MS + 100) * 1000);
    CHECK_EQ_INT(sl_iam_creds_lookup(c, "K2", &p), 0);
    sl_iam_creds_close(c);
    unlink(path);
    rmdir(dir);
    /* Open errors. */
    CHECK_EQ_INT(sl_iam_creds_open("/nonexistent/credentials", "000000000000", &c), SL_EIO);
}

int main(void) {
    test_parse();
    test_errors();
    test_reload();
    TEST_MAIN_END();
}
