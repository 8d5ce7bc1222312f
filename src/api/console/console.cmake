# console.cmake (included by src/api/CMakeLists.txt): builds the web console (console/, plain ES
# modules) with vite and embeds the result in the sluice binary, so the console works offline
# and needs no files next to the binary. scripts/setup.sh installs vite (npm ci in console/).
# Without node or vite the console's unbundled sources are embedded instead (browsers load them
# as ES modules), with a warning: the build never needs the network.
set(SL_CONSOLE_DIR ${CMAKE_SOURCE_DIR}/console)
set(SL_CONSOLE_VITE ${SL_CONSOLE_DIR}/node_modules/vite/bin/vite.js)
set(SL_CONSOLE_C ${CMAKE_BINARY_DIR}/generated/console_assets.c)
set(SL_CONSOLE_EMBED ${CMAKE_CURRENT_LIST_DIR}/embed.cmake)
file(GLOB SL_CONSOLE_SRCS CONFIGURE_DEPENDS ${SL_CONSOLE_DIR}/src/*)
list(APPEND SL_CONSOLE_SRCS ${SL_CONSOLE_DIR}/index.html ${SL_CONSOLE_DIR}/vite.config.js)
find_program(SL_NODE node)
if(SL_NODE AND EXISTS ${SL_CONSOLE_VITE})
  add_custom_command(
    OUTPUT ${SL_CONSOLE_C}
    COMMAND ${SL_NODE} ${SL_CONSOLE_VITE} build ${SL_CONSOLE_DIR} --outDir ${CMAKE_BINARY_DIR}/console
            --emptyOutDir
    COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_BINARY_DIR}/console -DOUT=${SL_CONSOLE_C} -DORIGIN=vite
            -P ${SL_CONSOLE_EMBED}
    DEPENDS ${SL_CONSOLE_SRCS} ${SL_CONSOLE_EMBED} ${SL_CONSOLE_DIR}/package-lock.json
    WORKING_DIRECTORY ${SL_CONSOLE_DIR}
    COMMENT "Building the web console (vite)"
    VERBATIM)
else()
  message(WARNING "console: node or vite is missing (run scripts/setup.sh); the console is "
                  "embedded from its unbundled sources")
  set(files index.html)
  foreach(f ${SL_CONSOLE_SRCS})
    if(f MATCHES "/src/")
      file(RELATIVE_PATH rel ${SL_CONSOLE_DIR} ${f})
      list(APPEND files ${rel})
    endif()
  endforeach()
  string(REPLACE ";" "\\;" files_arg "${files}")
  add_custom_command(
    OUTPUT ${SL_CONSOLE_C}
    COMMAND ${CMAKE_COMMAND} -DIN=${SL_CONSOLE_DIR} "-DFILES=${files_arg}" -DOUT=${SL_CONSOLE_C}
            -DORIGIN=sources -P ${SL_CONSOLE_EMBED}
    DEPENDS ${SL_CONSOLE_SRCS} ${SL_CONSOLE_EMBED}
    COMMENT "Embedding the web console's sources"
    VERBATIM)
endif()
target_sources(sl_api PRIVATE ${SL_CONSOLE_C})
