typedef int sl_net_placeholder_t;
