/* Unit tests of wire/xml: the writer's escaping and nesting, and the parser on S3's request bodies
 * and on the inputs it must refuse (DTDs, undefined entities, mismatched tags, bad characters). */
#include "../test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/xml.h"

#include <stdlib.h>

static char *text_of(sl_buf_t *b) {
    sl_buf_append_byte(b, 0);
    b->len--;
    return b->data;
}

static void test_writer(void) {
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "ListBucketResult", "http://s3.amazonaws.com/doc/2006-03-01/");
    sl_xml_element(&w, "Name", "b&<>\"'");
    sl_xml_element(&w, "Prefix", "");
    sl_xml_element_fmt(&w, "MaxKeys", "%d", 1000);
    sl_xml_open(&w, "Contents", NULL);
    sl_xml_element_len(&w, "Key", "a\rb\x01\tc\n", 7);
    sl_xml_finish(&w);
    CHECK(!sl_buf_failed(&b));
    CHECK_EQ_STR(text_of(&b),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                 "<Name>b&amp;&lt;&gt;\"'</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>"
                 "<Contents><Key>a&#13;b&#1;\tc\n</Key></Contents></ListBucketResult>");
    sl_buf_reset(&b);
    sl_xml_writer_init(&w, &b);
    sl_xml_open(&w, "E", NULL);
    sl_xml_attr(&w, "v", "q\"<\t\n&");
    sl_xml_close(&w);
    CHECK_EQ_STR(text_of(&b), "<E v=\"q&quot;&lt;&#9;&#10;&amp;\"></E>");
    /* A long formatted value goes through the heap path. */
    sl_buf_reset(&b);
    sl_xml_writer_init(&w, &b);
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    sl_xml_element_fmt(&w, "K", "%s", big);
    CHECK_EQ_INT(b.len, 299 + 7);
    /* Closing more than was opened, or an attribute after text, marks the buffer failed. */
    sl_xml_close(&w);
    CHECK(sl_buf_failed(&b));
    sl_buf_free(&b);
}

static sl_xml_node_t *parse_ok(sl_arena_t *a, const char *doc) {
    sl_xml_node_t *root = NULL;
    const char *reason = NULL;
    int rc = sl_xml_parse(doc, strlen(doc), a, &root, &reason);
    if (rc != 0) fprintf(stderr, "parse failed: %s\n", reason);
    CHECK_EQ_INT(rc, 0);
    return root;
}

static void parse_bad(const char *doc, const char *want) {
    sl_arena_t a;
    sl_arena_init(&a, 1024);
    sl_xml_node_t *root = (sl_xml_node_t *)1;
    const char *reason = NULL;
    CHECK_EQ_INT(sl_xml_parse(doc, strlen(doc), &a, &root, &reason), SL_EINVAL);
    CHECK(root == NULL);
    CHECK_EQ_STR(reason, want);
    sl_arena_deinit(&a);
}

static void test_s3_bodies(void) {
    sl_arena_t a;
    sl_arena_init(&a, 1024);
    sl_xml_node_t *r = parse_ok(&a, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                    "<CompleteMultipartUpload "
                                    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                    "<Part><ETag>&quot;abc&quot;</ETag><PartNumber>1</PartNumber>"
                                    "</Part>\n  <Part><PartNumber>2</PartNumber><ETag>\"d\"</ETag>"
                                    "</Part></CompleteMultipartUpload>");
    if (r) {
        CHECK_EQ_STR(r->local, "CompleteMultipartUpload");
        CHECK_EQ_STR(sl_xml_attr_get(r, "xmlns"), "http://s3.amazonaws.com/doc/2006-03-01/");
        sl_xml_node_t *p = sl_xml_child(r, "Part");
        CHECK_EQ_STR(sl_xml_child(p, "ETag")->text, "\"abc\"");
        CHECK_EQ_STR(sl_xml_child(p, "PartNumber")->text, "1");
        p = sl_xml_next_same(p);
        CHECK(p != NULL);
        if (p) CHECK_EQ_STR(sl_xml_child(p, "ETag")->text, "\"d\"");
        CHECK(p && sl_xml_next_same(p) == NULL);
        CHECK(sl_xml_child(r, "Missing") == NULL);
    }
    r = parse_ok(&a, "<s3:Delete xmlns:s3='x'><s3:Quiet>true</s3:Quiet>"
                     "<Object><Key>a&#x20;b&#233;<![CDATA[<raw>&amp;]]></Key></Object>"
                     "<Object><Key>line\r\nend\rx&#13;</Key><VersionId/></Object></s3:Delete>");
    if (r) {
        CHECK_EQ_STR(r->name, "s3:Delete");
        CHECK_EQ_STR(r->local, "Delete");
        CHECK_EQ_STR(sl_xml_child(r, "Quiet")->text, "true");
        sl_xml_node_t *o = sl_xml_child(r, "Object");
        CHECK_EQ_STR(sl_xml_child(o, "Key")->text, "a b\xC3\xA9<raw>&amp;");
        o = sl_xml_next_same(o);
        CHECK_EQ_STR(sl_xml_child(o, "Key")->text, "line\nend\nx\r");
        CHECK_EQ_STR(sl_xml_child(o, "VersionId")->text, "");
        CHECK_EQ_INT(sl_xml_child(o, "VersionId")->text_len, 0);
    }
    r = parse_ok(&a, "\xEF\xBB\xBF<!-- c --><CreateBucketConfiguration><LocationConstraint>"
                     "eu-west-1<!-- x --></LocationConstraint></CreateBucketConfiguration><?pi?> ");
    if (r) CHECK_EQ_STR(sl_xml_child(r, "LocationConstraint")->text, "eu-west-1");
    r = parse_ok(&a, "<a x=\"1\tb\" y='&lt;'/>");
    if (r) {
        CHECK_EQ_STR(sl_xml_attr_get(r, "x"), "1 b");
        CHECK_EQ_STR(sl_xml_attr_get(r, "y"), "<");
        CHECK(r->first_child == NULL);
    }
    sl_arena_deinit(&a);
}

static void test_refusals(void) {
    parse_bad("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "DOCTYPE and DTDs are not accepted");
    parse_bad("<a>&x;</a>", "undefined entity");
    parse_bad("<a>&#0;</a>", "character reference to a non-XML character");
    parse_bad("<a>&#x110000;</a>", "character reference out of range");
    parse_bad("<a>&#xD800;</a>", "character reference to a non-XML character");
    parse_bad("<a>&amp</a>", "unterminated reference");
    parse_bad("<a></b>", "mismatched end tag");
    parse_bad("<a><b></a>", "mismatched end tag");
    parse_bad("<a>", "unterminated element");
    parse_bad("<a/><b/>", "content after the root element");
    parse_bad("", "expected the root element");
    parse_bad("text", "expected the root element");
    parse_bad("<a x='1' x='2'/>", "duplicate attribute");
    parse_bad("<a x='<'/>", "'<' in attribute value");
    parse_bad("<a x=1/>", "expected a quoted attribute value");
    parse_bad("<a x='1'y='2'/>", "expected whitespace before an attribute");
    parse_bad("<a>\x01</a>", "invalid character in XML");
    parse_bad("<a>\xC3</a>", "XML is not valid UTF-8");
    parse_bad("<a><!-- a -- b --></a>", "'--' inside a comment");
    parse_bad("<a><![CDATA[x</a>", "unterminated CDATA section");
    parse_bad("<a><!ELEMENT a ANY></a>", "markup declarations are not accepted");
    parse_bad("<1/>", "expected a name");
    /* Depth: 64 levels parse, 65 do not. */
    sl_buf_t b = SL_BUF_INIT;
    for (int i = 0; i < 64; i++)
        sl_buf_append_str(&b, "<d>");
    for (int i = 0; i < 64; i++)
        sl_buf_append_str(&b, "</d>");
    sl_arena_t a;
    sl_arena_init(&a, 1024);
    sl_xml_node_t *r;
    const char *reason;
    CHECK_EQ_INT(sl_xml_parse(b.data, b.len, &a, &r, &reason), 0);
    sl_buf_reset(&b);
    for (int i = 0; i < 65; i++)
        sl_buf_append_str(&b, "<d>");
    CHECK_EQ_INT(sl_xml_parse(b.data, b.len, &a, &r, &reason), SL_EINVAL);
    CHECK_EQ_STR(reason, "XML nested too deeply");
    sl_buf_free(&b);
    sl_arena_deinit(&a);
}

int main(void) {
    test_writer();
    test_s3_bodies();
    test_refusals();
    TEST_MAIN_END();
}
