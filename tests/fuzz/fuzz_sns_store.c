/* Fuzz target for the SNS core's stored records (bytes read back from sns.db are input): the
 * input, split in two, is stored as a topic's metadata and one of its subscriptions, and the core
 * opens the store, loads them (a damaged record is skipped and logged), lists and closes. Nothing
 * may crash or leak. */
#include "catalog/itemstore.h"
#include "core/log.h"
#include "sns/sns.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/sl-fuzz-sns-%d.db", (int)getpid());
        sl_log_set_level((sl_log_level_t)(SL_LOG_ERROR + 1));
    }
    static const char topic[] = "arn:aws:sns:us-east-1:123456789012:t";
    size_t half = size / 2;
    sl_itemstore_t *st;
    if (sl_itemstore_open(path, &st) != 0) return 0;
    sl_itemstore_op_t ops[] = {
        {SL_ITEMSTORE_PUT_TABLE, topic, NULL, 0, data, half},
        {SL_ITEMSTORE_PUT_ITEM, topic, "k", 1, data + half, size - half},
    };
    sl_itemstore_write(st, ops, 2);
    sl_itemstore_close(st);
    sl_sns_config_t cfg = {.path = path, .region = "us-east-1", .account = "123456789012"};
    sl_sns_t *sns;
    if (sl_sns_open(&cfg, &sns) == 0) {
        sl_sns_sub_info_t *subs;
        size_t count;
        bool more;
        sl_sns_err_t err;
        if (sl_sns_list_subscriptions(sns, NULL, 0, 10, &subs, &count, &more, &err) == 0)
            free(subs);
        sl_sns_close(sns);
    }
    char p[80];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    return 0;
}
