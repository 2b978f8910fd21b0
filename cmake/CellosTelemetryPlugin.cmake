# cellos_telemetry_add_probe(NAME SOURCES... [OUTPUT_DIRECTORY dir] [TARGET t]
#                            [INSTALL [COMPONENT c]])
# cellos_telemetry_add_sink(NAME SOURCES... [same options])
#
# Builds a loadable plugin named as the agent looks for it: probe-NAME.so / sink-NAME.so, with
# hidden visibility (C and C++ sources alike) so only the entry point is exported. In-tree
# plugins and the installed SDK
# (find_package(CellosTelemetry)) use this same file.
#   OUTPUT_DIRECTORY  where the .so is built (default: CELLOS_TELEMETRY_PLUGIN_DIR if set, else
#                     the current binary directory).
#   TARGET            the CMake target's name (default: probe-NAME / sink-NAME).
#   INSTALL           install the plugin into CELLOS_TELEMETRY_INSTALL_PLUGIN_DIR, relative to
#                     the install prefix: the directory the agent of the same prefix searches.
#   COMPONENT         the install component (default: agent).
# The C++ runtime: each plugin links its own copy of libstdc++ and libgcc, statically and
# hidden (--exclude-libs), like the agent, so that no guest maps the shared libstdc++ (about
# 1.6 MiB resident) for the few pages a plugin uses; the boundary is plain C, so copies never
# meet. Third-party plugins get the same unless they set CELLOS_TELEMETRY_STATIC_RUNTIME OFF
# before find_package (then the shared library is loaded with the plugin: it works, and costs
# the guest that memory). docs/writing-a-probe.md says so.
# In this source tree, plugins built into CELLOS_TELEMETRY_PLUGIN_DIR are installed by
# cmake/CellosTelemetryInstall.cmake; plugins built elsewhere (the test fixtures) are not.
include_guard(GLOBAL)
if(NOT DEFINED CELLOS_TELEMETRY_STATIC_RUNTIME)
  set(CELLOS_TELEMETRY_STATIC_RUNTIME ON)
endif()

function(_cellos_telemetry_add_plugin kind name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "INSTALL" "OUTPUT_DIRECTORY;TARGET;COMPONENT" "")
  set(target ${kind}-${name})
  if(arg_TARGET)
    set(target ${arg_TARGET})
  endif()
  add_library(${target} MODULE ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${target} PRIVATE CellosTelemetry::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${kind}-${name}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(CELLOS_TELEMETRY_STATIC_RUNTIME)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc
      -Wl,--exclude-libs,libstdc++.a:libgcc.a:libgcc_eh.a)
  endif()
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIRECTORY})
  elseif(CELLOS_TELEMETRY_PLUGIN_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CELLOS_TELEMETRY_PLUGIN_DIR})
    # What the build puts beside the agent's plugins is what ships; recorded here, installed at
    # the end of the top-level project so that the decision stays in one place.
    set_property(GLOBAL APPEND PROPERTY CELLOS_TELEMETRY_SHIPPED_PLUGINS ${target})
  endif()
  if(arg_INSTALL)
    if(NOT CELLOS_TELEMETRY_INSTALL_PLUGIN_DIR)
      message(FATAL_ERROR "${target}: INSTALL needs CELLOS_TELEMETRY_INSTALL_PLUGIN_DIR "
        "(set by find_package(CellosTelemetry))")
    endif()
    if(NOT arg_COMPONENT)
      set(arg_COMPONENT agent)
    endif()
    install(TARGETS ${target}
      LIBRARY DESTINATION ${CELLOS_TELEMETRY_INSTALL_PLUGIN_DIR} COMPONENT ${arg_COMPONENT})
  endif()
endfunction()

function(cellos_telemetry_add_probe name)
  _cellos_telemetry_add_plugin(probe ${name} ${ARGN})
endfunction()

function(cellos_telemetry_add_sink name)
  _cellos_telemetry_add_plugin(sink ${name} ${ARGN})
endfunction()
