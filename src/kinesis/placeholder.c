typedef int sl_kinesis_placeholder_t;
