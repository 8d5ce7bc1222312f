/* The function library (spec §4) against the examples of the Kinesis Data Analytics SQL
 * reference and the developer guide (T11, T12), with their documented results, plus the
 * SimpleDateFormat patterns and the errors a row gets for bad arguments. */
#include "analytics/engine.h"
#include "analytics/internal.h"
#include "test.h"

#include <string.h>

static void eq(const char *expr, const char *want) {
    char out[512];
    int rc = sl_an_eval_text(expr, out, sizeof out);
    if (rc != 0) fprintf(stderr, "%s: rc %d: %s\n", expr, rc, out);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, want);
}

/* A row error (error_stream MESSAGE) or a planner error. */
static void fails(const char *expr, const char *message) {
    char out[512];
    int rc = sl_an_eval_text(expr, out, sizeof out);
    CHECK(rc != 0);
    CHECK_EQ_STR(out, message);
}

static void test_numeric(void) {
    /* STEP (SQL reference) */
    eq("STEP(23 BY 5)", "20");
    eq("STEP(30 BY 10)", "30");
    eq("STEP(-3 BY 5)", "-5");
    eq("STEP(TIMESTAMP '2004-09-30 13:48:23' BY INTERVAL '10' SECOND)", "2004-09-30 13:48:20.000");
    eq("STEP(TIMESTAMP '2004-09-30 13:48:23' BY INTERVAL '2' HOUR)", "2004-09-30 12:00:00.000");
    eq("STEP(CAST(NULL AS TIMESTAMP) BY INTERVAL '10' SECOND)", "NULL");
    eq("ABS(-1.5)", "1.5");
    eq("ABS(-7)", "7");
    eq("CEIL(1.2)", "2");
    eq("CEILING(-1.2)", "-1");
    eq("FLOOR(-1.2)", "-2");
    eq("FLOOR(CAST(2.5 AS DOUBLE))", "2.0");
    eq("MOD(10, 3)", "1");
    eq("MOD(-10, 3)", "-1");
    eq("POWER(2, 10)", "1024.0");
    eq("EXP(0)", "1.0");
    eq("LN(1)", "0.0");
    eq("LOG10(1000)", "3.0");
    eq("7 / 2", "3"); /* integer division truncates (WEATHERSTREAM averages rely on it) */
    eq("-7 / 2", "-3");
    eq("CAST(7 AS DOUBLE) / 2", "3.5");
    eq("1 + 2 * 3", "7");
    eq("CAST(1e10 AS DOUBLE)", "1.0E10");
    eq("CAST(0.0001 AS DOUBLE)", "1.0E-4");
    eq("CAST(12345.678 AS REAL)", "12345.678");
    eq("CAST(12.7 AS INTEGER)", "12");
    eq("CAST('12.5' AS DOUBLE)", "12.5");
    eq("CAST(' 42 ' AS BIGINT)", "42");
    eq("CAST(2.345 AS DECIMAL(5,2))", "2.35");
    fails("1 / 0", "Division by zero");
    fails("CAST(1.5 AS DOUBLE) / 0", "Division by zero");
    fails("MOD(1, 0)", "Division by zero");
    /* a CAST of a constant is checked when the code is planned */
    fails("CAST(300 AS TINYINT)",
          "From line 1, column 1 to line 1, column 20: Value '300' is out of range for TINYINT");
    fails("CAST('abc' AS INTEGER)",
          "From line 1, column 1 to line 1, column 22: Cannot convert 'abc' to INTEGER");
    fails("9223372036854775807 + 1", "Overflow");
    fails("LN(0)", "Cannot take logarithm of zero or negative number");
}

static void test_strings(void) {
    /* T11 */
    eq("SUBSTRING('http://www.amazon.com', 12, (POSITION('.com' IN 'http://www.amazon.com') - "
       "POSITION('www.' IN 'http://www.amazon.com') - 4))",
       "amazon");
    eq("CHAR_LENGTH('abc')", "3");
    eq("CHARACTER_LENGTH('Ünïcode')", "7");
    eq("UPPER('Hello')", "HELLO");
    eq("LOWER('Hello')", "hello");
    eq("INITCAP('each FIRST lEtTeR is cAPITALIZED')", "Each First Letter Is Capitalized");
    eq("SUBSTRING('abcdef' FROM 2 FOR 3)", "bcd");
    eq("SUBSTRING('abcdef' FROM 4)", "def");
    eq("SUBSTRING('abcdef' FROM 0 FOR 3)", "ab");
    eq("SUBSTRING('abcdef' FROM 10)", "");
    eq("POSITION('a' IN 'banana')", "2");
    eq("POSITION('z' IN 'banana')", "0");
    eq("POSITION('' IN 'banana')", "1");
    eq("OVERLAY('abcdefg' PLACING 'bbb' FROM 2 FOR 3)", "abbbefg");
    eq("OVERLAY('abc' PLACING 'XY' FROM 2)", "aXY");
    eq("TRIM(BOTH '*' FROM '***Hello***')", "Hello");
    eq("TRIM(LEADING FROM '  x  ')", "x  ");
    eq("TRIM(TRAILING 'x' FROM 'axx')", "a");
    eq("TRIM('  x ')", "x");
    eq("'ab' || 'cd'", "abcd");
    eq("'it''s'", "it's");
    eq("U&'\\0041\\00e9'", "A\xc3\xa9");
    eq("CAST('abcdef' AS VARCHAR(3))", "abc");
    eq("CAST('ab' AS CHAR(4)) || '|'", "ab  |");
    eq("CAST(12 AS VARCHAR(8))", "12");
    eq("CAST(TRUE AS VARCHAR(8))", "TRUE");
    eq("'abc' LIKE 'a%'", "TRUE");
    eq("'abc' LIKE 'a_c'", "TRUE");
    eq("'abc' LIKE 'b%'", "FALSE");
    eq("'a%c' LIKE 'a!%c' ESCAPE '!'", "TRUE");
    eq("'abc' NOT LIKE 'a%'", "FALSE");
    eq("'TECHNOLOGY' SIMILAR TO '%TECH%'", "TRUE");
    eq("'abd' SIMILAR TO 'a(b|c)d'", "TRUE");
    eq("'aed' SIMILAR TO 'a[bc]d'", "FALSE");
    fails("TRIM(BOTH 'ab' FROM 'x')", "Trim error: trim character must be exactly 1 character");
    fails("SUBSTRING('abc' FROM 1 FOR -1)",
          "Substring error: negative substring length not allowed");
}

static void test_datetime(void) {
    eq("FLOOR(TIMESTAMP '2004-09-30 13:48:23' TO HOUR)", "2004-09-30 13:00:00.000");
    eq("FLOOR(TIMESTAMP '2004-09-30 13:48:23' TO DAY)", "2004-09-30 00:00:00.000");
    eq("FLOOR(TIMESTAMP '2004-09-30 13:48:23' TO MONTH)", "2004-09-01 00:00:00.000");
    eq("FLOOR(TIMESTAMP '2004-09-30 13:48:23' TO YEAR)", "2004-01-01 00:00:00.000");
    eq("CEIL(TIMESTAMP '2004-09-30 13:48:23' TO MINUTE)", "2004-09-30 13:49:00.000");
    eq("CEIL(TIMESTAMP '2004-09-30 13:48:00' TO MINUTE)", "2004-09-30 13:48:00.000");
    eq("CEIL(TIMESTAMP '2004-12-30 13:48:23' TO MONTH)", "2005-01-01 00:00:00.000");
    eq("EXTRACT(HOUR FROM TIMESTAMP '2004-09-30 13:48:23')", "13");
    eq("EXTRACT(YEAR FROM DATE '2004-09-30')", "2004");
    eq("EXTRACT(MINUTE FROM INTERVAL '1 02:03:04' DAY TO SECOND)", "3");
    eq("TSDIFF(TIMESTAMP '2004-09-30 13:48:23', TIMESTAMP '2004-09-30 13:48:24')", "1000");
    eq("TSDIFF(1000, 250)", "-750");
    eq("TSDIFF(NULL, 1)", "NULL");
    eq("UNIX_TIMESTAMP(TIMESTAMP '1970-01-01 00:00:01')", "1000");
    eq("TO_TIMESTAMP(1000)", "1970-01-01 00:00:01.000");
    eq("TIMESTAMP '2004-09-30 13:48:23' + INTERVAL '1' DAY", "2004-10-01 13:48:23.000");
    eq("TIMESTAMP '2004-01-31 00:00:00' + INTERVAL '1' MONTH", "2004-02-29 00:00:00.000");
    eq("TIMESTAMP '2004-09-30 13:48:23' - TIMESTAMP '2004-09-30 13:48:20'", "+0 00:00:03.000");
    eq("DATE '2004-09-30' + INTERVAL '2' DAY", "2004-10-02");
    eq("TIME '23:00:00' + INTERVAL '2' HOUR", "01:00:00");
    eq("TIMESTAMP '2004-09-30 13:48:23' > TIMESTAMP '2004-09-30 13:48:20'", "TRUE");
    eq("TIMESTAMP '2004-09-30 13:48:23' = '2004-09-30 13:48:23'", "TRUE");
    /* T12: ISO text with a T and microseconds converts (truncated to ms) */
    eq("CAST('2018-05-09T12:50:41.337510' AS TIMESTAMP) - INTERVAL '5' MINUTE",
       "2018-05-09 12:45:41.337");
    eq("UNIX_TIMESTAMP(CAST('2018-05-09T12:50:41.337510' AS TIMESTAMP))", "1525870241337");
    eq("TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss', CAST('2018-05-09T12:50:41.337510' AS "
       "TIMESTAMP))",
       "2018-05-09 12:50:41");
    eq("EXTRACT(SECOND FROM CAST('2018-05-09T12:50:41.337510' AS TIMESTAMP))", "41");
    /* SQL reference examples */
    eq("CHAR_TO_TIMESTAMP('yyyy-MM-dd hh:mm:ss', '2009-09-16 03:15:24')",
       "2009-09-16 03:15:24.000");
    eq("TIMESTAMP_TO_CHAR('MM/dd/yyyy hh:mm:ss', TIMESTAMP '2009-09-16 03:15:24')",
       "09/16/2009 03:15:24");
    eq("CHAR_TO_TIMESTAMP('dd/MMM/yyyy:HH:mm:ss Z', '25/Mar/2018:15:25:37 -0700')",
       "2018-03-25 22:25:37.000");
    eq("CHAR_TO_TIMESTAMP('yyyyMMddHHmmss', '20180325152537')", "2018-03-25 15:25:37.000");
    eq("CHAR_TO_TIMESTAMP('EEE, d MMM yyyy h:mm a', 'Sun, 25 Mar 2018 3:25 PM')",
       "2018-03-25 15:25:00.000");
    eq("CHAR_TO_DATE('yyyy-MM-dd', '2018-03-25')", "2018-03-25");
    eq("CHAR_TO_TIME('HH:mm:ss.SSS', '15:25:37.125')", "15:25:37");
    eq("TIMESTAMP_TO_CHAR('EEEE, MMMM d, yyyy h:mm a ''at'' SSS', TIMESTAMP '2018-03-25 "
       "15:25:37.125')",
       "Sunday, March 25, 2018 3:25 PM at 125");
    eq("DATE_TO_CHAR('dd.MM.yy', DATE '2018-03-25')", "25.03.18");
    eq("TIME_TO_CHAR('HH:mm', TIME '15:25:37')", "15:25");
    eq("CURRENT_DATE", "1970-01-01"); /* the query's start time: 0 here */
    fails("CHAR_TO_TIMESTAMP('yyyy-MM-dd', 'nope')",
          "Cannot parse 'nope' with the format 'yyyy-MM-dd'");
    fails("CAST('2018-02-30' AS DATE)", "From line 1, column 1 to line 1, column 26: Illegal "
                                        "DATE literal '2018-02-30'");
    fails("DATE '2018-02-3x'", "From line 1, column 1 to line 1, column 17: Illegal DATE literal "
                               "'2018-02-3x'");
}

static void test_logic(void) {
    eq("COALESCE(NULL, 'x')", "x");
    eq("COALESCE(CAST(NULL AS INTEGER), 2, 3)", "2");
    eq("NULLIF(1, 1)", "NULL");
    eq("NULLIF(1, 2)", "1");
    eq("CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END", "b");
    eq("CASE 3 WHEN 1 THEN 'one' WHEN 3 THEN 'three' END", "three");
    eq("CASE 4 WHEN 1 THEN 'one' END", "NULL");
    eq("2 BETWEEN 1 AND 3", "TRUE");
    eq("2 BETWEEN 3 AND 1", "FALSE");
    eq("2 BETWEEN SYMMETRIC 3 AND 1", "TRUE");
    eq("2 NOT BETWEEN 1 AND 3", "FALSE");
    eq("2 IN (1, 2)", "TRUE");
    eq("2 IN (1, NULL)", "NULL");
    eq("2 NOT IN (1, 3)", "TRUE");
    eq("NULL IS NULL", "TRUE");
    eq("1 IS NOT NULL", "TRUE");
    eq("UNKNOWN IS UNKNOWN", "TRUE");
    eq("(1 = 1) IS TRUE", "TRUE");
    eq("(1 = 2) IS NOT FALSE", "FALSE");
    eq("NULL AND FALSE", "FALSE");
    eq("NULL OR TRUE", "TRUE");
    eq("NULL AND TRUE", "NULL");
    eq("NOT (1 = 2)", "TRUE");
    eq("1 IS DISTINCT FROM NULL", "TRUE");
    eq("NULL IS NOT DISTINCT FROM NULL", "TRUE");
    eq("1 <> 2", "TRUE");
    eq("'a' < 'b'", "TRUE");
    eq("CAST('ab ' AS CHAR(3)) = 'ab'", "TRUE");
    eq("CAST('true' AS BOOLEAN)", "TRUE");
    eq("MONOTONIC(5)", "5");
    fails("FOO(1)", "From line 1, column 1 to line 1, column 6: No match found for function "
                    "signature FOO(<NUMERIC>)");
    fails("UPPER(1)", "From line 1, column 1 to line 1, column 8: No match found for function "
                      "signature UPPER(<NUMERIC>)");
    fails("1 + 'a'", "From line 1, column 1 to line 1, column 7: Cannot apply '+' to arguments of "
                     "type '<INTEGER> + <CHAR(1)>'");
    fails("NOT 1", "From line 1, column 5 to line 1, column 5: The operand of NOT must be a "
                   "condition; got INTEGER");
}

/* T11 and the SQL reference's log-parsing examples; a ROW prints as (field, field, ...). */
static void test_log_parsers(void) {
    eq("REGEX_REPLACE('http://www.amazon.com', 'http://', 'https://', 1, 0)",
       "https://www.amazon.com");
    eq("REGEX_REPLACE('aaa', 'a', 'b', 2, 0)", "abb");
    eq("REGEX_REPLACE('aaa', 'a', 'b', 1, 2)", "aba");
    eq("REGEX_REPLACE('abc', 'x', 'y', 1, 0)", "abc");
    eq("REGEX_REPLACE('abc', 'b', 'y', 9, 0)", "abc"); /* start past the end: unchanged */
    eq("REGEX_REPLACE('2018-03-25', '(\\d+)-(\\d+)-(\\d+)', '$3/$2/$1', 1, 0)", "25/03/2018");
    eq("REGEX_REPLACE('a.b', '\\.', '\\$', 1, 0)", "a$b");
    fails("REGEX_REPLACE('abc', 'b', 'y', 0, 0)", "REGEX_REPLACE start position must be positive");
    fails("REGEX_REPLACE('abc', 'b', 'y', 1, -1)", "REGEX_REPLACE occurrence must not be negative");
    eq("REGEX_LOG_PARSE('203.0.113.24 - - [25/Mar/2018:15:25:37 -0700] \"GET /index.php "
       "HTTP/1.1\" 200 125 \"-\" \"Mozilla/5.0 [en] Gecko/20100101 Firefox/52.0\"', "
       "'(\\w.+) (\\d.+) (\\w.+) (\\w.+)')",
       "(203.0.113.24 - - [25/Mar/2018:15:25:37 -0700] \"GET /index.php HTTP/1.1\" 200, 125 "
       "\"-\" \"Mozilla/5.0 [en], Gecko/20100101, Firefox/52.0\")");
    eq("REGEX_LOG_PARSE('no digits here', '(\\w+) (\\d+)')", "NULL");
    eq("REGEX_LOG_PARSE('7 x', '(\\d+) (\\w+)', 'N TYPE INTEGER, S TYPE VARCHAR(4)')", "(7, x)");
    eq("VARIABLE_COLUMN_LOG_PARSE('x,y,z', 'COL_1 TYPE VARCHAR(16), COL_2 TYPE VARCHAR(16), "
       "COL_3 TYPE VARCHAR(16)', ',')",
       "(x, y, z)");
    eq("VARIABLE_COLUMN_LOG_PARSE('a|b', 3, '|')", "(a, b, NULL)");
    eq("VARIABLE_COLUMN_LOG_PARSE('a\\,b,\"c,d\",e', 3, ',', '\\', '\"')", "(a,b, c,d, e)");
    eq("VARIABLE_COLUMN_LOG_PARSE('1' || U&'\\0009' || '2.5', 'A TYPE INTEGER, B TYPE DOUBLE', "
       "U&'\\0009')",
       "(1, 2.5)");
    eq("FIXED_COLUMN_LOG_PARSE('ab  1234 25/Mar/2018:15:25:37', 'S TYPE VARCHAR(4) START 0 FOR "
       "4, N TYPE INTEGER START 4 FOR 4, \"ts\" TYPE TIMESTAMP ''dd/MMM/yyyy:HH:mm:ss'' START 9')",
       "(ab, 1234, 2018-03-25 15:25:37.000)");
    eq("W3C_LOG_PARSE('192.168.254.30 - John [24/May/2004:22:01:02 -0700] \"GET "
       "/icons/apache_pb.gif HTTP/1.1\" 304 0', 'COMMON')",
       "(192.168.254.30, -, John, [24/May/2004:22:01:02 -0700], GET /icons/apache_pb.gif "
       "HTTP/1.1, 304, 0)");
    eq("W3C_LOG_PARSE('x', 'COMMON')", "NULL");
    /* SYS_LOG_PARSE (SQL reference: "Mon DD HH:MM:SS server message"): the timestamp, then the
     * free-form rest; syslog lines carry no year (1970, as SimpleDateFormat without yyyy) */
    eq("SYS_LOG_PARSE('Mar 25 15:25:37 server message')",
       "(1970-03-25 15:25:37.000, server message)");
    eq("SYS_LOG_PARSE('Dec  6 07:08:09 web-1 sshd[42]: Accepted publickey for ec2-user')",
       "(1970-12-06 07:08:09.000, web-1 sshd[42]: Accepted publickey for ec2-user)");
    eq("SYS_LOG_PARSE('Jan 01 00:00:00')", "(1970-01-01 00:00:00.000, )");
    eq("SYS_LOG_PARSE('Foo 25 15:25:37 server message')", "NULL");
    eq("SYS_LOG_PARSE('Mar 25 25:25:37 server message')", "NULL");
    eq("SYS_LOG_PARSE('Mar 25 15:25')", "NULL");
    eq("SYS_LOG_PARSE(CAST(NULL AS VARCHAR(8)))", "NULL");
    /* a field of the bracketed call, as the SQL reference writes it: (SYS_LOG_PARSE(x)).COLUMN2;
     * a row the line does not give (no match, a missing trailing column) has NULL fields */
    eq("(SYS_LOG_PARSE('Mar 25 15:25:37 server message')).COLUMN2", "server message");
    eq("(SYS_LOG_PARSE('Mar 25 15:25:37 server message')).COLUMN1", "1970-03-25 15:25:37.000");
    eq("(SYS_LOG_PARSE('not a syslog line')).COLUMN2", "NULL");
    eq("(REGEX_LOG_PARSE('7 x', '(\\d+) (\\w+)')).COLUMN2", "x");
    eq("(REGEX_LOG_PARSE('no digits here', '(\\w+) (\\d+)')).COLUMN1", "NULL");
    eq("(REGEX_LOG_PARSE('7 x', '(\\d+) (\\w+)', 'N TYPE INTEGER, S TYPE VARCHAR(4)')).N + 1", "8");
    eq("(FAST_REGEX_LOG_PARSER('7 x', '(\\d+) (\\w+)')).COLUMN1", "7");
    eq("(FAST_REGEX_LOG_PARSE('7 x', '(\\d+) (\\w+)')).COLUMN2", "x");
    eq("(W3C_LOG_PARSE('192.168.254.30 - John [24/May/2004:22:01:02 -0700] \"GET "
       "/icons/apache_pb.gif HTTP/1.1\" 304 0', 'COMMON')).COLUMN3",
       "John");
    eq("(VARIABLE_COLUMN_LOG_PARSE('a|b', 3, '|')).COLUMN2", "b");
    eq("(VARIABLE_COLUMN_LOG_PARSE('a|b', 3, '|')).COLUMN3", "NULL");
    eq("( VARIABLE_COLUMN_LOG_PARSE('x,y', 'A TYPE VARCHAR(4), B TYPE VARCHAR(4)', ',') ).\"B\"",
       "y");
    eq("(FIXED_COLUMN_LOG_PARSE('ab  1234', 'S TYPE VARCHAR(4) START 0 FOR 4, N TYPE INTEGER "
       "START 4 FOR 4')).N",
       "1234");
    eq("UPPER((SYS_LOG_PARSE('Mar 25 15:25:37 server message')).COLUMN2) || '!'",
       "SERVER MESSAGE!");
    /* a name the row does not have is refused when the SQL is planned, as a path's field is */
    fails("(SYS_LOG_PARSE('Mar 25 15:25:37 x')).COLUMN3",
          "From line 1, column 1 to line 1, column 44: Unknown field 'COLUMN3'");
    fails("(1 + 2).COLUMN1", "From line 1, column 1 to line 1, column 15: Cannot access field "
                             "'COLUMN1' of a value of type INTEGER");
    fails("(SYS_LOG_PARSE('x')).", "Encountered \"<EOF>\" at line 1, column 22.");
    fails("REGEX_LOG_PARSE('a', '(')",
          "From line 1, column 1 to line 1, column 25: Invalid regular expression at offset 1: "
          "missing closing parenthesis");
}

int main(void) {
    test_log_parsers();
    test_numeric();
    test_strings();
    test_datetime();
    test_logic();
    TEST_MAIN_END();
}
