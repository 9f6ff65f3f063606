# coe_add_plugin(<target> SOURCES ... [OUTPUT_DIRECTORY dir] [OUTPUT_NAME name]
#                [COMPILE_OPTIONS ...] [COMPILE_DEFINITIONS ...])
#
# Builds a coe plugin the right way: a MODULE library, hidden visibility,
# and a version script so that the entry symbol is the only export.

set(COE_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/coe_plugin.map CACHE INTERNAL "")

function(coe_add_plugin target)
  cmake_parse_arguments(P "" "OUTPUT_DIRECTORY;OUTPUT_NAME" "SOURCES;COMPILE_OPTIONS;COMPILE_DEFINITIONS" ${ARGN})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE coe::sdk)
  target_compile_options(${target} PRIVATE ${P_COMPILE_OPTIONS})
  target_compile_definitions(${target} PRIVATE ${P_COMPILE_DEFINITIONS})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(P_OUTPUT_NAME)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME ${P_OUTPUT_NAME})
  endif()
  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  endif()
  target_link_options(${target} PRIVATE "LINKER:--version-script=${COE_PLUGIN_VERSION_SCRIPT}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${COE_PLUGIN_VERSION_SCRIPT})
endfunction()
