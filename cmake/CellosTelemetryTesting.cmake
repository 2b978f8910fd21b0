# cellos_telemetry_add_gtest(NAME SOURCES... [LIBS libs...])
# One GoogleTest executable, its tests discovered into CTest. Tests find the build's artefacts
# (the agent binary, the plugin and fixture directories, the source tree) through
# tests/support/harness.hpp, which has them compiled in; environment variables of the same names
# (CT_AGENT, CT_PLUGIN_DIR, CT_FIXTURE_DIR, CT_SOURCE_DIR, CT_BINARY_DIR) override them.
function(cellos_telemetry_add_gtest name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBS")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE GTest::gtest_main ${arg_LIBS})
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 120)
endfunction()
