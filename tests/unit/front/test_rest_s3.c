/* Operation lookup for REST-XML over the generated S3 model (src/front/rest.c,
 * sl_front_rest_find_op_req): S3 shares one URI between several operations that differ only by a
 * required query parameter or header, and newer clients add an x-id query parameter that older
 * ones leave out. */
#include "api/s3/model.h"
#include "front/rest.h"
#include "net/http.h"

#include "test.h"

#define HDR(n, v)                                                                                  \
    { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static const char *op_of(const char *method, const char *target, sl_http_header_t *headers,
                         size_t header_count) {
    sl_http_req_t req = {
        .method = method, .path = target, .headers = headers, .header_count = header_count};
    const sl_op_t *op = sl_front_rest_find_op_req(&sl_s3_model, &req, target);
    return op ? op->name : "(none)";
}

int main(void) {
    CHECK_EQ_STR(op_of("GET", "/", NULL, 0), "ListBuckets");
    CHECK_EQ_STR(op_of("PUT", "/b", NULL, 0), "CreateBucket");
    CHECK_EQ_STR(op_of("HEAD", "/b", NULL, 0), "HeadBucket");
    CHECK_EQ_STR(op_of("DELETE", "/b", NULL, 0), "DeleteBucket");
    CHECK_EQ_STR(op_of("GET", "/b", NULL, 0), "ListObjects");
    CHECK_EQ_STR(op_of("GET", "/b?list-type=2&prefix=a", NULL, 0), "ListObjectsV2");
    CHECK_EQ_STR(op_of("GET", "/b?location", NULL, 0), "GetBucketLocation");
    CHECK_EQ_STR(op_of("GET", "/b?versioning", NULL, 0), "GetBucketVersioning");
    CHECK_EQ_STR(op_of("POST", "/b?delete", NULL, 0), "DeleteObjects");
    CHECK_EQ_STR(op_of("PUT", "/b/k/with/slashes", NULL, 0), "PutObject");
    CHECK_EQ_STR(op_of("PUT", "/b/k?x-id=PutObject", NULL, 0), "PutObject");
    CHECK_EQ_STR(op_of("PUT", "/b/k?partNumber=1&uploadId=u", NULL, 0), "UploadPart");
    CHECK_EQ_STR(op_of("PUT", "/b/k?partNumber=1&uploadId=u&x-id=UploadPart", NULL, 0),
                 "UploadPart");
    sl_http_header_t copy[] = {HDR("x-amz-copy-source", "/b/src")};
    CHECK_EQ_STR(op_of("PUT", "/b/k", copy, 1), "CopyObject");
    CHECK_EQ_STR(op_of("PUT", "/b/k?partNumber=1&uploadId=u", copy, 1), "UploadPartCopy");
    CHECK_EQ_STR(op_of("GET", "/b/k", NULL, 0), "GetObject");
    CHECK_EQ_STR(op_of("GET", "/b/k?x-id=GetObject", NULL, 0), "GetObject");
    CHECK_EQ_STR(op_of("GET", "/b/k?acl", NULL, 0), "GetObjectAcl");
    CHECK_EQ_STR(op_of("GET", "/b/k?uploadId=u", NULL, 0), "ListParts");
    CHECK_EQ_STR(op_of("HEAD", "/b/k", NULL, 0), "HeadObject");
    CHECK_EQ_STR(op_of("DELETE", "/b/k", NULL, 0), "DeleteObject");
    CHECK_EQ_STR(op_of("DELETE", "/b/k?uploadId=u", NULL, 0), "AbortMultipartUpload");
    CHECK_EQ_STR(op_of("POST", "/b/k?uploads", NULL, 0), "CreateMultipartUpload");
    CHECK_EQ_STR(op_of("POST", "/b/k?uploadId=u", NULL, 0), "CompleteMultipartUpload");
    CHECK_EQ_STR(op_of("PATCH", "/b/k", NULL, 0), "(none)");
    TEST_MAIN_END();
}
