# coe_add_library(<target> EXPORT_NAME <name> SOURCES <files...>
#                 [PUBLIC_LINK <libs...>] [PRIVATE_LINK <libs...>] [DEFINITIONS <defs...>])
#
# One layer's library, as every layer lays it out: public headers in
# include/ (installed), internals in src/ (private to the library), Boost.JSON
# and Boost.Container in header-only mode.  Also defines coe::<name>.  The
# internals can be offered to the layer's own white-box tests with
# coe_declare_internals().
function(coe_add_library target)
  cmake_parse_arguments(ARG "" "EXPORT_NAME" "SOURCES;PUBLIC_LINK;PRIVATE_LINK;DEFINITIONS" ${ARGN})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(coe::${ARG_EXPORT_NAME} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_definitions(${target} PRIVATE BOOST_JSON_NO_LIB BOOST_CONTAINER_NO_LIB ${ARG_DEFINITIONS})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME})
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_LINK} PRIVATE ${ARG_PRIVATE_LINK})
endfunction()

# coe_declare_internals(<name>): an interface target <name> with this
# folder's src/ as its include directory, for the layer's own white-box
# tests only, so that no other target reaches into the folder by path.
# Headers only: link the library as well where its code is needed.
function(coe_declare_internals name)
  add_library(${name} INTERFACE)
  target_include_directories(${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/src)
endfunction()
