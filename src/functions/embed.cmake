# Writes OUT: a C file defining sl_fn_node_ric and sl_fn_python_ric as the NUL-terminated text of
# NODE and PYTHON (the runtime-interface clients under runtime/).
function(embed var path)
  file(READ ${path} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  file(APPEND ${OUT} "const char ${var}[] = {${hex} 0};\n")
endfunction()
file(WRITE ${OUT} "/* Generated from runtime/ by src/functions/embed.cmake: do not edit. */\n")
embed(sl_fn_node_ric ${NODE})
embed(sl_fn_python_ric ${PYTHON})
