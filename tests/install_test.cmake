# The SDK as a user meets it:
#   cmake -DBUILD_DIR=<project build> -DSOURCE_DIR=<project source> -DWORK_DIR=<scratch>
#         -DGENERATOR=<generator> -P install_test.cmake
# installs the project to a scratch prefix, builds the example user plugin and
# the example host application from that prefix alone (find_package(coe)),
# installs the plugin beside the built-in ones, checks it with
# `coe plugin check`, selects it by config, and checks which backend served
# which operation.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

function(expect text)
  string(FIND "${output}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${text}' in:\n${output}")
  endif()
  message(STATUS "found: ${text}")
endfunction()

# installed to one prefix, then moved: everything below runs from the new place
set(prefix ${WORK_DIR}/moved-prefix)
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/install-prefix)
file(RENAME ${WORK_DIR}/install-prefix ${prefix})

# the user plugin, from the installed SDK only
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/sdk/examples/jaccard_similarity -B ${WORK_DIR}/plugin -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/plugin)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/plugin --prefix ${prefix})
set(plugin ${prefix}/lib/coe/plugins/coe_jaccard.so)
run(${prefix}/bin/coe plugin check ${plugin})
expect("isolation: each operation in a child process")
expect("PASS coe.similarity/1: own algorithm")

# selected by config; the other stages come from the best built-in backend
file(WRITE ${WORK_DIR}/coe.json "{\"backend\": \"jaccard\"}")
run(${prefix}/bin/coe analyze --config ${WORK_DIR}/coe.json --json)
expect("\"coe.similarity\":\"jaccard\"")
string(REGEX MATCH "\"coe.cluster\":\"([a-z0-9]+)\"" _ "${output}")
if(CMAKE_MATCH_1 STREQUAL "" OR CMAKE_MATCH_1 STREQUAL "jaccard")
  message(FATAL_ERROR "coe.cluster should be served by a built-in backend:\n${output}")
endif()
message(STATUS "coe.cluster served by ${CMAKE_MATCH_1}")
expect("\"degraded\":false")

# a user plugin built for coe.featurize/1 only is still called, at /1
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/sdk/examples/word_features -B ${WORK_DIR}/words -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/words)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/words --prefix ${prefix})
run(${prefix}/bin/coe plugin check ${prefix}/lib/coe/plugins/coe_word_features.so)
expect("PASS coe.featurize/1: own algorithm")
file(WRITE ${WORK_DIR}/words.json "{\"backend\": \"words\"}")
run(${prefix}/bin/coe analyze --config ${WORK_DIR}/words.json --json)
expect("\"coe.featurize\":\"words\"")
expect("\"degraded\":false")

# a host application built against the installed package
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/host_app -B ${WORK_DIR}/host -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/host)
file(WRITE ${WORK_DIR}/host.json "{\"backend\": \"jaccard\", \"plugin_paths\": [\"${plugin}\"]}")
run(${WORK_DIR}/host/coe_host_example ${WORK_DIR}/host.json)
expect("served_by coe.similarity jaccard")
expect("consensus: ")

# with no config at all, the host finds the moved package's plugins and runs
# on the best one this CPU has, as `coe` itself does
run(${prefix}/bin/coe backends --json)
string(REGEX MATCH "\"active\":\"([a-z0-9]+)\"" _ "${output}")
set(best ${CMAKE_MATCH_1})
if(best STREQUAL "" OR best STREQUAL "scalar")
  message(FATAL_ERROR "coe backends found no accelerated backend in the moved prefix:\n${output}")
endif()
run(${WORK_DIR}/host/coe_host_example)
expect("active backend: ${best}")
# the moved package's probe helper tried that plugin out before the host loaded it
expect("probe: passed a probe in a child process")
