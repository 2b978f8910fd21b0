# cellos_telemetry_add_gtest(NAME SOURCES... [LIBS libs...] [ROOT_TESTS patterns...]
#                           [SERIAL_ROOT_TESTS patterns...])
# One GoogleTest executable, its tests discovered into CTest. Tests find the build's artefacts
# (the agent binary, the plugin and fixture directories, the source tree) through
# tests/support/harness.hpp, which has them compiled in; environment variables of the same names
# (CT_AGENT, CT_PLUGIN_DIR, CT_FIXTURE_DIR, CT_SOURCE_DIR, CT_BINARY_DIR) override them.
#
# ROOT_TESTS names, as GoogleTest patterns ("Suite.*", "Suite.Name"), the tests that need root (the
# kernel's taskstats, chown to another user, unshare): they get the CTest label "root", so
# `ctest -LE root` is a whole non-root run. Each also skips itself when not root
# (CT_SKIP_UNLESS_ROOT in harness.hpp), so running it anyway reports a skip, not a failure.
#
# SERIAL_ROOT_TESTS, a part of ROOT_TESTS, run alone (RUN_SERIAL): tests of what the kernel
# accounts to the test's own processes. CPU times in taskstats are 10 ms tick samples, so a
# spinner that shares its CPU with another test's processes is charged what the ticks caught.
function(cellos_telemetry_add_gtest name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBS;ROOT_TESTS;SERIAL_ROOT_TESTS")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE GTest::gtest_main ${arg_LIBS})
  if(arg_ROOT_TESTS)
    list(JOIN arg_ROOT_TESTS ":" root_filter)
    # Discovered twice, each run of discovery keeping its half: the same executable, no test
    # twice.
    gtest_discover_tests(${name}
      TEST_FILTER "-${root_filter}"
      DISCOVERY_TIMEOUT 30
      PROPERTIES TIMEOUT 120)
    set(serial_filter "")
    if(arg_SERIAL_ROOT_TESTS)
      list(JOIN arg_SERIAL_ROOT_TESTS ":" serial_filter)
      gtest_discover_tests(${name}
        TEST_FILTER "${serial_filter}"
        DISCOVERY_TIMEOUT 30
        PROPERTIES TIMEOUT 120 LABELS root RUN_SERIAL TRUE)
      set(serial_filter "-${serial_filter}")
    endif()
    gtest_discover_tests(${name}
      TEST_FILTER "${root_filter}${serial_filter}"
      DISCOVERY_TIMEOUT 30
      PROPERTIES TIMEOUT 120 LABELS root)
  else()
    gtest_discover_tests(${name}
      DISCOVERY_TIMEOUT 30
      PROPERTIES TIMEOUT 120)
  endif()
endfunction()
