# Engine level: a writer process appends to the file engine and prints every acknowledged seq; the
# driver kills it several times and checks that every acknowledged record is there.
add_executable(durability_engine_crash ${CMAKE_CURRENT_LIST_DIR}/engine_crash.c)
target_include_directories(durability_engine_crash PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit ${CMAKE_SOURCE_DIR}/tests/unit/storage)
target_link_libraries(durability_engine_crash PRIVATE sl_storage sl_core)
add_test(NAME durability.engine_crash COMMAND durability_engine_crash)
set_tests_properties(durability.engine_crash PROPERTIES LABELS "durability" TIMEOUT 600)
