/* The SNS binding (docs/sns.md): topics, subscriptions and Publish over the Query protocol
 * (signing name "sns", form-encoded Action=..., XML answers), and the plain routes an HTTP
 * subscriber's endpoint follows: GET /sns/confirm-subscription (the SubscribeURL of a
 * SubscriptionConfirmation message) and GET /sns/unsubscribe (a notification's UnsubscribeURL),
 * unsigned, as on SNS. The descriptor's account hook must leave the sl_sns_t of the request's
 * account in call->account. */
#ifndef SL_API_SNS_BINDING_H
#define SL_API_SNS_BINDING_H

#include "front/front.h"
#include "sns/sns.h"

/* Fills the descriptor (the composition root sets its account hook). */
void sl_snsapi_describe(sl_front_service_t *svc);

/* Registers the plain routes; sns_of_account finds the topics of the account an ARN names. */
int sl_snsapi_register_routes(sl_front_t *front,
                              int (*sns_of_account)(void *ctx, const char *account, sl_sns_t **out),
                              void *ctx);

#endif
