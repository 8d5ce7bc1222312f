/* AWS errors for the JSON and CBOR protocols: the one table of error types with their HTTP status,
 * the body {"__type":"<type>","message":"<text>"} (spec §1.5), compact, or the same map in CBOR,
 * and the messages of internal failures by SL_E* code.
 *
 * Handlers name an error by its SL_AWS_* constant from this table, never by a string literal, so
 * a type is spelled once and its status comes with it. Where the types come from: the Kinesis
 * model's error shapes (botocore kinesis/2013-12-02/service-2.json; awsJson answers 400 unless a
 * shape is flagged `fault`) and the texts AWS answers with (kinesalite's tests, recorded on AWS).
 * A failed request is answered `InternalFailure` with status 500: that is the code AWS Kinesis
 * sends (SDK reports: aws-sdk-java-v2#4832 "Service returned error code InternalFailure ... Status
 * Code: 500", aws-sdk-go#362, aws-sdk-ruby#1296), and the per-record ErrorCode of PutRecords. The
 * model's `InternalFailureException` is used only where the model's union demands that member
 * name: the exception events of a SubscribeToShard event stream. The answers the HTTP server gives
 * itself: `ServiceUnavailable` 503 (AWS's common errors) and `RequestTimeoutException` 408, a
 * code the SDKs retry as transient (botocore's standard retry mode, @smithy's
 * TRANSIENT_ERROR_CODES). */
#ifndef SL_WIRE_AWSERROR_H
#define SL_WIRE_AWSERROR_H

#include "core/buf.h"
#include "wire/value.h"

#include <stdbool.h>

/* X(constant, __type, HTTP status) */
#define SL_AWS_ERROR_TABLE(X)                                                                      \
    X(SL_AWS_ACCESS_DENIED, "AccessDeniedException", 400)                                          \
    X(SL_AWS_CONDITIONAL_CHECK_FAILED, "ConditionalCheckFailedException", 400)                     \
    X(SL_AWS_EXPIRED_ITERATOR, "ExpiredIteratorException", 400)                                    \
    X(SL_AWS_EXPIRED_NEXT_TOKEN, "ExpiredNextTokenException", 400)                                 \
    X(SL_AWS_EXPIRED_TOKEN, "ExpiredTokenException", 400)                                          \
    X(SL_AWS_INCOMPLETE_SIGNATURE, "IncompleteSignatureException", 400)                            \
    X(SL_AWS_INTERNAL_FAILURE, "InternalFailure", 500)                                             \
    X(SL_AWS_INTERNAL_FAILURE_EVENT, "InternalFailureException", 500)                              \
    X(SL_AWS_INTERNAL_SERVER_ERROR, "InternalServerError", 500)                                    \
    X(SL_AWS_INVALID_ARGUMENT, "InvalidArgumentException", 400)                                    \
    X(SL_AWS_INVALID_SIGNATURE, "InvalidSignatureException", 400)                                  \
    X(SL_AWS_LIMIT_EXCEEDED, "LimitExceededException", 400)                                        \
    X(SL_AWS_MISSING_AUTHENTICATION_TOKEN, "MissingAuthenticationTokenException", 400)             \
    X(SL_AWS_PROVISIONED_THROUGHPUT_EXCEEDED, "ProvisionedThroughputExceededException", 400)       \
    X(SL_AWS_REQUEST_TIMEOUT, "RequestTimeoutException", 408)                                      \
    X(SL_AWS_RESOURCE_IN_USE, "ResourceInUseException", 400)                                       \
    X(SL_AWS_RESOURCE_NOT_FOUND, "ResourceNotFoundException", 400)                                 \
    X(SL_AWS_SERIALIZATION, "SerializationException", 400)                                         \
    X(SL_AWS_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503)                                       \
    X(SL_AWS_UNKNOWN_OPERATION, "UnknownOperationException", 400)                                  \
    X(SL_AWS_UNRECOGNIZED_CLIENT, "UnrecognizedClientException", 400)                              \
    X(SL_AWS_VALIDATION, "ValidationException", 400)

#define SL_AWS_ERROR_DECLARE(id, type, status) extern const char id[];
SL_AWS_ERROR_TABLE(SL_AWS_ERROR_DECLARE)
#undef SL_AWS_ERROR_DECLARE

/* HTTP status of an error type from the table (matched by address, then by text); a type not in
 * the table is a client error, 400. */
int sl_aws_error_status(const char *type);

/* The message of an SL_AWS_INTERNAL_FAILURE caused by a failed storage or catalog operation that
 * returned `code` (an SL_E* value): one text per cause, so that a full disk or a read-only file
 * system is named as such; "Internal service failure." (AWS's text) for anything else. Static. */
const char *sl_aws_failure_message(int code);

/* Appends the error body to out. message NULL omits the member (e.g. a bare
 * {"__type":"SerializationException"}); type NULL omits __type (the client then reports the HTTP
 * status as the error code, as for AWS's 413); capital_message_key writes "Message" instead of
 * "message", as AWS does for SerializationException. Allocation failure is sticky in out. */
void sl_aws_error_body(sl_buf_t *out, sl_fmt_t fmt, const char *type, const char *message,
                       bool capital_message_key);

#endif
