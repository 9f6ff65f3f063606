# The WebAssembly build (COE_WASM=ON, under emcmake): the layers the analysis
# needs, each its own library as in the native build, and the wasm/ layer.
if(NOT EMSCRIPTEN)
  message(FATAL_ERROR "COE_WASM needs the emscripten toolchain: configure with emcmake (scripts/build-wasm.sh)")
endif()
include(CoeCompilerFlags)
include(CoeLibrary)

# Boost (header-only parts) and xsimd from the host's /usr/include, without
# the rest of it (the host's C library headers would clash with
# emscripten's): a folder holding only links to them.
set(COE_WASM_HOST_INCLUDE "/usr/include" CACHE PATH "Where the host's boost/ and xsimd/ headers are")
set(COE_WASM_STAGING ${CMAKE_BINARY_DIR}/host-include)
file(MAKE_DIRECTORY ${COE_WASM_STAGING})
foreach(dir boost xsimd)
  if(NOT EXISTS ${COE_WASM_HOST_INCLUDE}/${dir})
    message(FATAL_ERROR "${COE_WASM_HOST_INCLUDE}/${dir} not found (scripts/install-deps.sh installs it)")
  endif()
  file(CREATE_LINK ${COE_WASM_HOST_INCLUDE}/${dir} ${COE_WASM_STAGING}/${dir} SYMBOLIC)
endforeach()
add_library(coe_wasm_boost INTERFACE)
target_include_directories(coe_wasm_boost SYSTEM INTERFACE ${COE_WASM_STAGING})
add_library(Boost::headers ALIAS coe_wasm_boost)
# the kernels include xsimd from the same folder
include_directories(SYSTEM ${COE_WASM_STAGING})
# Exceptions carry the engine's named errors.  -fexceptions unwinds through
# JavaScript and runs everywhere; -fwasm-exceptions (WebAssembly exception
# handling: Chrome 95, Firefox 100, Safari 15.2, Node 17) is an option.
set(COE_WASM_EXCEPTIONS "-fexceptions" CACHE STRING "How the WebAssembly build unwinds")
add_compile_options(${COE_WASM_EXCEPTIONS})

set(CMAKE_ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
add_subdirectory(sdk)
add_subdirectory(common)
add_subdirectory(plugins)
add_subdirectory(engine)
add_subdirectory(wasm)
