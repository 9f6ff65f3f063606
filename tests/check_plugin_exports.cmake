# cmake -DNM=<nm> -DPLUGIN=<file> -P check_plugin_exports.cmake
# Fails unless the plugin's dynamic symbol table defines exactly one symbol:
# the entry point.
execute_process(COMMAND ${NM} -D --defined-only ${PLUGIN}
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${PLUGIN}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${out}")
set(names "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] +" "" name "${line}")
  list(APPEND names ${name})
endforeach()
if(NOT names STREQUAL "coe_plugin_entry")
  message(FATAL_ERROR "${PLUGIN} exports [${names}]; expected only coe_plugin_entry")
endif()
message(STATUS "${PLUGIN}: exports only coe_plugin_entry")
