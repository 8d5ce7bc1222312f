/* The few Kinesis names shared by the typed core (kinesis.h, control.h) and the engine's private
 * state (engine.h): the engine handle, lifecycle states and shard-level metric names. */
#ifndef SL_KINESIS_STATUS_H
#define SL_KINESIS_STATUS_H

/* One account's Kinesis engine (engine.h, private to kinesis/). */
typedef struct sl_kinesis sl_kinesis_t;

typedef enum {
    SL_KS_CREATING = 0,
    SL_KS_ACTIVE,
    SL_KS_UPDATING,
    SL_KS_DELETING,
    SL_KS_GONE
} sl_kstatus_t;

const char *sl_kstatus_name(sl_kstatus_t s);

/* Shard-level metric bits (EnableEnhancedMonitoring), in the model's enum order. */
#define SL_KMETRICS_COUNT 7
extern const char *const sl_kmetric_names[SL_KMETRICS_COUNT];

/* The engine's account id (12 digits), for messages. */
const char *sl_kinesis_account(const sl_kinesis_t *k);

#endif
