typedef int sl_catalog_placeholder_t;
