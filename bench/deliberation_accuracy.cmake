# deliberation_accuracy: built with the tests too, which replay its fixture.
if(NOT TARGET deliberation_accuracy)
  add_executable(deliberation_accuracy ${CMAKE_CURRENT_LIST_DIR}/deliberation_accuracy.cpp)
  # replays the peer review's ballots: the consultation's internal headers
  target_link_libraries(deliberation_accuracy PRIVATE coe::consult coe_consult_internals Boost::headers)
  target_include_directories(deliberation_accuracy PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_compile_definitions(deliberation_accuracy PRIVATE BOOST_JSON_NO_LIB BOOST_CONTAINER_NO_LIB
                             COE_DEFAULT_DATA_DIR="${PROJECT_SOURCE_DIR}/../shared/data")
  add_dependencies(deliberation_accuracy coe)
endif()
