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

# stoa_go_oracle(COMPONENT ORACLE DEFINE)
#   Builds tests/oracle/<ORACLE> (a Go program answering questions with golang.org/x/mod) into
#   <build>/oracle/<ORACLE> before stoa_<COMPONENT>_test, which finds it through STOA_BINARY_DIR
#   or, run by hand, through the compile definition DEFINE.
function(stoa_go_oracle component oracle define)
  if(NOT STOA_TESTS)
    return()
  endif()
  find_program(GO_EXECUTABLE go HINTS /usr/local/go/bin REQUIRED)
  set(out ${PROJECT_BINARY_DIR}/oracle/${oracle})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/oracle/${oracle}/*.go)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E env "GOFLAGS=-mod=mod -buildvcs=false" GOTOOLCHAIN=local
            ${GO_EXECUTABLE} build -o ${out} ./oracle/${oracle}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests
    DEPENDS ${sources} ${PROJECT_SOURCE_DIR}/tests/go.mod ${PROJECT_SOURCE_DIR}/tests/go.sum
    COMMENT "Building the x/mod oracle tests/oracle/${oracle}"
    VERBATIM)
  add_custom_target(stoa_${oracle}_oracle DEPENDS ${out})
  add_dependencies(stoa_${component}_test stoa_${oracle}_oracle)
  target_compile_definitions(stoa_${component}_test PRIVATE ${define}="${out}")
endfunction()
