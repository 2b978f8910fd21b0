# cellos_telemetry_add_probe(NAME SOURCES...) / cellos_telemetry_add_sink(NAME SOURCES...)
# Builds a loadable plugin named as the agent looks for it: probe-NAME.so / sink-NAME.so, with
# hidden visibility so only the entry point is exported. In-tree plugins and the installed SDK
# use this same file. Optional: OUTPUT_DIRECTORY dir (default: CELLOS_TELEMETRY_PLUGIN_DIR if set).
function(_cellos_telemetry_add_plugin kind name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "OUTPUT_DIRECTORY;TARGET" "")
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
    VISIBILITY_INLINES_HIDDEN ON)
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIRECTORY})
  elseif(CELLOS_TELEMETRY_PLUGIN_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CELLOS_TELEMETRY_PLUGIN_DIR})
  endif()
endfunction()

function(cellos_telemetry_add_probe name)
  _cellos_telemetry_add_plugin(probe ${name} ${ARGN})
endfunction()

function(cellos_telemetry_add_sink name)
  _cellos_telemetry_add_plugin(sink ${name} ${ARGN})
endfunction()
