# What `cmake --install` puts where, by component, so that packages and guest images can pick:
#   agent  the agent, the in-tree plugins, /etc/cellos-telemetry/agent.toml: what a guest needs
#   tools  cellos-telemetry-recv, the host-side receiver, and cellos-telemetry-tree, which reads
#          its output (the .deb, not a guest image)
#   doc    the man page and the operator README (the .deb, not a guest image)
#   sdk    headers, the CMake package CellosTelemetry, the plugin author's guide and example
# Included at the end of the top-level CMakeLists.txt, once every target exists. The agent's and
# the SDK target's own install rules are in core/CMakeLists.txt.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(CELLOS_TELEMETRY_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/CellosTelemetry)
# Absolute, for the man page: where an agent installed under this prefix finds its plugins (it
# looks relative to its own executable, core/CMakeLists.txt).
set(CELLOS_TELEMETRY_FULL_PLUGIN_DIR ${CMAKE_INSTALL_FULL_LIBDIR}/cellos-telemetry/plugins)

# Plugins the build puts in CELLOS_TELEMETRY_PLUGIN_DIR (see CellosTelemetryPlugin.cmake); the
# test fixtures are built elsewhere and never ship.
get_property(_ct_shipped_plugins GLOBAL PROPERTY CELLOS_TELEMETRY_SHIPPED_PLUGINS)
if(_ct_shipped_plugins)
  install(TARGETS ${_ct_shipped_plugins}
    LIBRARY DESTINATION ${CELLOS_TELEMETRY_INSTALL_PLUGIN_DIR} COMPONENT agent)
endif()

if(TARGET cellos-telemetry-recv)
  install(TARGETS cellos-telemetry-recv RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT tools)
endif()
if(TARGET cellos-telemetry-tree)
  install(TARGETS cellos-telemetry-tree RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT tools)
endif()

# The default config: its destination depends on the prefix given at install time (see the
# script), which a plain install(FILES) cannot express.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging/agent.d)
configure_file(${PROJECT_SOURCE_DIR}/cmake/CellosTelemetryInstallConfigFile.cmake.in
  ${CMAKE_BINARY_DIR}/packaging/install-config-file.cmake @ONLY)
install(SCRIPT ${CMAKE_BINARY_DIR}/packaging/install-config-file.cmake COMPONENT agent)

# The man page, from the built agent's --help (so it needs to run on the build machine).
if(NOT CMAKE_CROSSCOMPILING)
  set(_ct_man ${CMAKE_BINARY_DIR}/packaging/cellos-telemetry.1)
  add_custom_command(OUTPUT ${_ct_man} ${_ct_man}.gz
    COMMAND ${CMAKE_COMMAND}
      -DAGENT=$<TARGET_FILE:cellos-telemetry>
      -DPLUGIN_DIR=${CELLOS_TELEMETRY_PLUGIN_DIR}
      -DINSTALLED_PLUGIN_DIR=${CELLOS_TELEMETRY_FULL_PLUGIN_DIR}
      -DVERSION=${PROJECT_VERSION}
      -DOUT=${_ct_man}
      -P ${PROJECT_SOURCE_DIR}/packaging/man-page.cmake
    DEPENDS cellos-telemetry ${_ct_shipped_plugins} ${PROJECT_SOURCE_DIR}/packaging/man-page.cmake
    COMMENT "Writing cellos-telemetry(1) from --help"
    VERBATIM)
  add_custom_target(cellos-telemetry-man ALL DEPENDS ${_ct_man}.gz)
  install(FILES ${_ct_man}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT doc)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/packaging/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)

# The SDK's CMake package: find_package(CellosTelemetry 0.1) gives CellosTelemetry::sdk and the
# same plugin helper the in-tree plugins use.
file(STRINGS ${PROJECT_SOURCE_DIR}/core/include/cellos/telemetry/plugin_abi.h _ct_abi
  REGEX "^#define CT_ABI_(MAJOR|MINOR) [0-9]+")
string(REGEX MATCH "CT_ABI_MAJOR ([0-9]+)" _ "${_ct_abi}")
set(CT_ABI_MAJOR ${CMAKE_MATCH_1})
string(REGEX MATCH "CT_ABI_MINOR ([0-9]+)" _ "${_ct_abi}")
set(CT_ABI_MINOR ${CMAKE_MATCH_1})

install(EXPORT CellosTelemetryTargets NAMESPACE CellosTelemetry::
  DESTINATION ${CELLOS_TELEMETRY_INSTALL_CMAKEDIR} COMPONENT sdk)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/CellosTelemetryConfig.cmake.in
  ${CMAKE_BINARY_DIR}/packaging/CellosTelemetryConfig.cmake
  INSTALL_DESTINATION ${CELLOS_TELEMETRY_INSTALL_CMAKEDIR}
  PATH_VARS CELLOS_TELEMETRY_INSTALL_PLUGIN_DIR)
# The package's version is not the plugin ABI (the agent checks that when it loads a plugin);
# SameMajorVersion only keeps a 1.x SDK from satisfying a project written for 0.x.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/packaging/CellosTelemetryConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
    ${CMAKE_BINARY_DIR}/packaging/CellosTelemetryConfig.cmake
    ${CMAKE_BINARY_DIR}/packaging/CellosTelemetryConfigVersion.cmake
    ${PROJECT_SOURCE_DIR}/cmake/CellosTelemetryPlugin.cmake
  DESTINATION ${CELLOS_TELEMETRY_INSTALL_CMAKEDIR} COMPONENT sdk)

# The plugin author's guide and complete out-of-tree plugins to start from, laid out as in the
# source tree (docs/, examples/) so that the relative links between them hold once installed.
set(_ct_sdk_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc/cellos-telemetry-dev)
install(FILES ${PROJECT_SOURCE_DIR}/docs/writing-a-probe.md ${PROJECT_SOURCE_DIR}/docs/stream-identity.md
  DESTINATION ${_ct_sdk_docdir}/docs COMPONENT sdk)
install(DIRECTORY
    ${PROJECT_SOURCE_DIR}/examples/hello-probe
    ${PROJECT_SOURCE_DIR}/examples/hello-sink
    ${PROJECT_SOURCE_DIR}/examples/hello-c-probe
  DESTINATION ${_ct_sdk_docdir}/examples COMPONENT sdk
  PATTERN "build*" EXCLUDE)
# The capturing sink the project's own tests use, as a source file for plugin authors' tests.
install(FILES ${PROJECT_SOURCE_DIR}/tests/fixtures/capture_sink.cpp
  DESTINATION ${_ct_sdk_docdir}/testing COMPONENT sdk)
