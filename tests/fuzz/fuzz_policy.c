/* Fuzz target: IAM policy documents (iam/policy.c), as identity policies and as resource-based
 * policies (with Principal). Every input parses or is refused with a reason; a parsed policy is
 * evaluated for a fixed request without a crash and gives one of the three decisions. */
#include "core/arena.h"
#include "core/common.h"
#include "iam/policy.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_arena_t arena;
    sl_arena_init(&arena, 1024);
    for (int resource_policy = 0; resource_policy < 2; resource_policy++) {
        sl_iam_policy_t *p = NULL;
        const char *reason = NULL;
        int rc = resource_policy
                     ? sl_iam_resource_policy_parse((const char *)data, size, &arena, &p, &reason)
                     : sl_iam_policy_parse((const char *)data, size, &arena, &p, &reason);
        if (rc == 0) {
            sl_iam_request_t r = {.action = "kinesis:PutRecord",
                                  .resource = "arn:aws:kinesis:us-east-1:111122223333:stream/s",
                                  .source_ip = "10.0.0.1",
                                  .secure_transport = true,
                                  .principal_arn = "arn:aws:iam::444455556666:user/u",
                                  .principal_account = "444455556666"};
            sl_iam_decision_t d = sl_iam_policy_decide(p, &r);
            if (d != SL_IAM_ALLOW && d != SL_IAM_IMPLICIT_DENY && d != SL_IAM_EXPLICIT_DENY)
                abort();
            /* the same policy asked for a service principal (a function's execution role) */
            sl_iam_request_t svc = {.action = "sts:AssumeRole",
                                    .resource = "arn:aws:iam::111122223333:role/r",
                                    .principal_service = "lambda.amazonaws.com"};
            d = sl_iam_policy_decide(p, &svc);
            if (d != SL_IAM_ALLOW && d != SL_IAM_IMPLICIT_DENY && d != SL_IAM_EXPLICIT_DENY)
                abort();
        } else if (rc != SL_EINVAL || !reason) {
            abort();
        }
    }
    sl_arena_deinit(&arena);
    return 0;
}
