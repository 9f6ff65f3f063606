# `cmake --install`: the engine library, the public and SDK headers, the
# built-in plugins and their probe helper, and a CMake package (the `coe` tool
# installs itself, tools/coe/CMakeLists.txt):
#   find_package(coe CONFIG)  ->  coe::engine, coe::sdk, coe::consult, coe_add_plugin()
include(CMakePackageConfigHelpers)

install(TARGETS coe_common coe_engine coe_sdk coe_consult EXPORT coeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# beside the plugin folder, where the engine looks for it (coe/plugin_probe.hpp)
install(TARGETS coe_plugin_probe coe_plugin_worker RUNTIME DESTINATION ${CMAKE_INSTALL_LIBDIR}/coe)
# the word-vector file, when scripts/fetch-word-vectors.sh put it in the build
# tree: <prefix>/share/coe, where an installed engine looks for it
install(FILES ${COE_BUILD_DATA_DIR}/word-vectors.coewv DESTINATION ${COE_INSTALL_DATA_DIR} OPTIONAL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/common/include/coe ${PROJECT_SOURCE_DIR}/engine/include/coe
                  ${PROJECT_SOURCE_DIR}/sdk/include/coe ${PROJECT_SOURCE_DIR}/consult/include/coe
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN internal EXCLUDE)  # coe/internal: the libraries' own, not for hosts

set(COE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/coe)
install(EXPORT coeTargets NAMESPACE coe:: DESTINATION ${COE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/coeConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/coeConfig.cmake
                              INSTALL_DESTINATION ${COE_CMAKE_DIR}
                              PATH_VARS COE_INSTALL_PLUGIN_DIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/coeConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/coeConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/coeConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/CoePlugin.cmake ${PROJECT_SOURCE_DIR}/cmake/coe_plugin.map
        DESTINATION ${COE_CMAKE_DIR})
