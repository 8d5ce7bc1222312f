/* The DynamoDB binding's descriptor and operation table (see binding.h). */
#include "api/dynamodb/authz.h"
#include "api/dynamodb/internal.h"

#include "api/dynamodb/model.h"
#include "core/common.h"

void sl_dapi_describe(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "dynamodb",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_dynamodb_model,
        .handler = sl_dapi_handler,
        .signing_name = sl_dynamodb_model.signing_name,
        .json_content_type = "application/x-amz-json-1.0",
        .crc32_header = true,
        .resource = sl_dapi_resource,
        .action_prefix = "dynamodb",
    };
}

sl_front_op_fn sl_dapi_handler(const char *name) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"CreateTable", sl_dapi_create_table},
        {"DescribeTable", sl_dapi_describe_table},
        {"DeleteTable", sl_dapi_delete_table},
        {"ListTables", sl_dapi_list_tables},
        {"UpdateTable", sl_dapi_update_table},
        {"TagResource", sl_dapi_tag_resource},
        {"UntagResource", sl_dapi_untag_resource},
        {"ListTagsOfResource", sl_dapi_list_tags},
        {"DescribeTimeToLive", sl_dapi_describe_ttl},
        {"GetItem", sl_dapi_get_item},
        {"PutItem", sl_dapi_put_item},
        {"UpdateItem", sl_dapi_update_item},
        {"DeleteItem", sl_dapi_delete_item},
        {"Query", sl_dapi_query},
        {"Scan", sl_dapi_scan},
        {"BatchGetItem", sl_dapi_batch_get},
        {"BatchWriteItem", sl_dapi_batch_write},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) return table[i].fn;
    return NULL;
}
