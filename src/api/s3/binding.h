/* The S3 binding (docs/object-store.md): the generated model (model.c, every S3 operation, so that
 * the front routes each request to the right one), the operation table (sl_s3api_handler) and the
 * handlers, each of which reads its members (call->in) and payload (call->body), runs the object
 * store's blocking call on the store's worker threads (objstore/objstore.h) and answers S3's XML
 * or the object's bytes from the request's loop thread. The composition root registers the
 * descriptor (sl_s3api_describe) with an account hook whose answer is the account's
 * sl_objstore_t. */
#ifndef SL_API_S3_BINDING_H
#define SL_API_S3_BINDING_H

#include "front/front.h"
#include "objstore/objstore.h"

/* The binding's own state: the worker pool (not owned) and the region it reports. */
typedef struct sl_s3api sl_s3api_t;

int sl_s3api_create(sl_objstore_pool_t *pool, const char *region, sl_s3api_t **out);
void sl_s3api_destroy(sl_s3api_t *api);
/* Fills *svc with the S3 descriptor (REST-XML, signing name s3). The caller adds the account hook
 * (svc->account, whose answer must be an sl_objstore_t *) and registers it. */
void sl_s3api_describe(sl_s3api_t *api, sl_front_service_t *svc);
/* The handler of an S3 operation, or NULL (answered NotImplemented). */
sl_front_op_fn sl_s3api_handler(const char *op_name);

#endif
