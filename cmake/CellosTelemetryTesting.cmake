# cellos_telemetry_add_gtest(NAME SOURCES... [LIBS libs...])
# One GoogleTest executable, its tests discovered into CTest. Tests find the build's artefacts
# through environment variables so they never guess paths:
#   CT_AGENT       the cellos-telemetry binary
#   CT_PLUGIN_DIR  the in-tree plugins
#   CT_FIXTURE_DIR the test fixture plugins
#   CT_SOURCE_DIR  the source tree
function(cellos_telemetry_add_gtest name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBS")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE GTest::gtest_main ${arg_LIBS})
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 120
    ENVIRONMENT "CT_AGENT=$<TARGET_FILE:cellos-telemetry>;CT_PLUGIN_DIR=${CELLOS_TELEMETRY_PLUGIN_DIR};CT_FIXTURE_DIR=${CMAKE_BINARY_DIR}/tests/fixtures;CT_SOURCE_DIR=${PROJECT_SOURCE_DIR};CT_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()
