# stoa_component(NAME SOURCES <files> [DEPS <targets>])
#   One directory = one static library `stoa_<NAME>`, its dependencies linked PRIVATE unless
#   they appear in its public headers (PUBLIC_DEPS).
function(stoa_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(stoa_${name} STATIC ${ARG_SOURCES})
  target_link_libraries(stoa_${name} PUBLIC stoa_flags ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()

# stoa_test(NAME SOURCES <files> DEPS <targets>)
#   A GoogleTest binary `stoa_<NAME>_test` registered with ctest.
function(stoa_test name)
  if(NOT STOA_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(stoa_${name}_test ${ARG_SOURCES})
  target_link_libraries(stoa_${name}_test PRIVATE stoa_flags ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  # Test names are "<component>.<Suite>.<Test>" so `ctest -R <component>` selects one component.
  gtest_discover_tests(stoa_${name}_test DISCOVERY_TIMEOUT 60 TEST_PREFIX "${name}."
    # Two properties, one variable each: gtest_discover_tests splits a list value at ';'.
    PROPERTIES ENVIRONMENT "STOA_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
               ENVIRONMENT_MODIFICATION "STOA_BINARY_DIR=set:${PROJECT_BINARY_DIR}")
endfunction()
