/* A small Query-protocol model shared by test_query.c and fuzz_query.c: CloudWatch-like
 * (MetricData.member.N with nested Dimensions), SNS-like (Attributes.entry.N, MessageAttributes
 * with renamed Name/Value) and SQS-like (flattened, renamed members) shapes. */
static const sl_shape_t q_string = {.name = "String", .type = SL_SHAPE_STRING};
static const sl_shape_t q_int = {.name = "Integer", .type = SL_SHAPE_INTEGER};
static const sl_shape_t q_double = {.name = "Double", .type = SL_SHAPE_DOUBLE};
static const sl_shape_t q_bool = {.name = "Boolean", .type = SL_SHAPE_BOOLEAN};
static const sl_shape_t q_ts = {.name = "Timestamp", .type = SL_SHAPE_TIMESTAMP};
static const sl_shape_t q_blob = {.name = "Blob", .type = SL_SHAPE_BLOB};
static const sl_member_t q_dim_members[] = {
    {"Name", &q_string, true, SL_LOC_BODY, NULL},
    {"Value", &q_string, true, SL_LOC_BODY, NULL},
};
static const sl_shape_t q_dim = {
    .name = "Dimension", .type = SL_SHAPE_STRUCTURE, .members = q_dim_members, .member_count = 2};
static const sl_shape_t q_dims = {.name = "Dimensions", .type = SL_SHAPE_LIST, .member = &q_dim};
static const sl_shape_t q_values = {.name = "Values", .type = SL_SHAPE_LIST, .member = &q_double};
static const sl_member_t q_datum_members[] = {
    {"MetricName", &q_string, true, SL_LOC_BODY, NULL},
    {"Dimensions", &q_dims, false, SL_LOC_BODY, NULL},
    {"Timestamp", &q_ts, false, SL_LOC_BODY, NULL},
    {"Value", &q_double, false, SL_LOC_BODY, NULL},
    {"Values", &q_values, false, SL_LOC_BODY, NULL},
    {"StorageResolution", &q_int, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t q_datum = {.name = "MetricDatum",
                                   .type = SL_SHAPE_STRUCTURE,
                                   .members = q_datum_members,
                                   .member_count = 6};
static const sl_shape_t q_data = {.name = "MetricData", .type = SL_SHAPE_LIST, .member = &q_datum};
static const sl_shape_t q_attrs = {
    .name = "Attributes", .type = SL_SHAPE_MAP, .key = &q_string, .value = &q_string};
static const sl_member_t q_mav_members[] = {
    {"DataType", &q_string, true, SL_LOC_BODY, NULL},
    {"StringValue", &q_string, false, SL_LOC_BODY, NULL},
    {"BinaryValue", &q_blob, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t q_mav = {.name = "MessageAttributeValue",
                                 .type = SL_SHAPE_STRUCTURE,
                                 .members = q_mav_members,
                                 .member_count = 3};
static const sl_shape_t q_mattrs = {.name = "MessageAttributeMap",
                                    .type = SL_SHAPE_MAP,
                                    .key = &q_string,
                                    .value = &q_mav,
                                    .key_name = "Name",
                                    .value_name = "Value"};
static const sl_shape_t q_flat_names = {.name = "AttributeNameList",
                                        .type = SL_SHAPE_LIST,
                                        .member = &q_string,
                                        .flattened = true,
                                        .member_name = "AttributeName"};
static const sl_shape_t q_flat_map = {.name = "QueueAttributeMap",
                                      .type = SL_SHAPE_MAP,
                                      .key = &q_string,
                                      .value = &q_string,
                                      .flattened = true,
                                      .key_name = "Name",
                                      .value_name = "Value"};
static const sl_member_t q_in_members[] = {
    {"Namespace", &q_string, false, SL_LOC_BODY, NULL},
    {"MetricData", &q_data, false, SL_LOC_BODY, NULL},
    {"Attributes", &q_attrs, false, SL_LOC_BODY, NULL},
    {"MessageAttributes", &q_mattrs, false, SL_LOC_BODY, NULL},
    {"AttributeNames", &q_flat_names, false, SL_LOC_BODY, NULL},
    {"QueueAttributes", &q_flat_map, false, SL_LOC_BODY, "Attribute"},
    {"Strict", &q_bool, false, SL_LOC_BODY, NULL},
    {"Limit", &q_int, false, SL_LOC_BODY, NULL},
};
static const sl_shape_t q_in = {
    .name = "Input", .type = SL_SHAPE_STRUCTURE, .members = q_in_members, .member_count = 8};
