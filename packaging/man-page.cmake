# Writes cellos-telemetry(1) from the built agent's own --help, so the man page lists exactly the
# options, the core's [agent] and per-instance keys, and the plugin option tables of what ships
# (the docs come from the code).
# cmake -DAGENT=... -DPLUGIN_DIR=<build plugins> -DINSTALLED_PLUGIN_DIR=<where they install>
#       -DVERSION=... -DOUT=<file.1> -P man-page.cmake       (writes OUT and OUT.gz)
foreach(v AGENT PLUGIN_DIR INSTALLED_PLUGIN_DIR VERSION OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "man-page.cmake: ${v} is not set")
  endif()
endforeach()

# A config that cannot exist keeps the build from reading this machine's /etc; a sanitizer
# build's leak report at exit must not fail the documentation.
set(ENV{ASAN_OPTIONS} "detect_leaks=0")
get_filename_component(out_dir "${OUT}" DIRECTORY)
execute_process(
  COMMAND "${AGENT}" --help --config "${out_dir}/no-such-config.toml" --plugin-dir "${PLUGIN_DIR}"
  OUTPUT_VARIABLE help ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man-page.cmake: '${AGENT} --help' exited ${rc}: ${err}")
endif()
if(help MATCHES "cannot load")
  # Not fatal: a plugin being written must not break everyone's build; the package test fails.
  message(WARNING "man-page.cmake: a plugin did not load; the man page says so:\n${help}")
endif()
string(REPLACE "${PLUGIN_DIR}" "${INSTALLED_PLUGIN_DIR}" help "${help}")

# roff: backslashes escaped first, '-' as \- so options copy and search as ASCII, and a line
# starting with '.' or "'" would be read as a request.
string(REPLACE "\\" "\\e" help "${help}")
string(REPLACE "-" "\\-" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")

string(CONCAT page
  ".TH CELLOS\\-TELEMETRY 1 \"\" \"cellos\\-telemetry ${VERSION}\" \"User Commands\"\n"
  ".SH NAME\n"
  "cellos\\-telemetry \\- in\\-guest telemetry agent for Firecracker microVMs\n"
  ".SH SYNOPSIS\n"
  ".B cellos\\-telemetry\n"
  "[\\fIOPTIONS\\fR]\n"
  ".SH DESCRIPTION\n"
  "The agent runs inside a microVM guest, started by its init before the workload. Probe\n"
  "plugins observe the guest (for example processes spawned, exec'd and exited); sink plugins\n"
  "deliver each event, for example as CBOR frames over vsock to the host. Which probes and\n"
  "sinks run, and their options, come from a TOML configuration file and its drop\\-ins.\n"
  ".PP\n"
  "The core declares its own keys ([agent], and those every instance table takes) the way\n"
  "every plugin declares its options; unknown keys, wrong types and values out of range are\n"
  "errors with file:line:column, and the agent exits 78 before starting anything.\n"
  ".SH \"OPTIONS AND PLUGINS\"\n"
  "The text of \\fBcellos\\-telemetry \\-\\-help\\fR: the core's configuration keys, then the\n"
  "plugins this package installs:\n"
  ".PP\n"
  ".nf\n"
  "${help}"
  ".fi\n"
  ".SH FILES\n"
  ".TP\n"
  ".I /etc/cellos\\-telemetry/agent.toml\n"
  "The configuration (a conffile: upgrades keep local changes).\n"
  ".TP\n"
  ".I /etc/cellos\\-telemetry/agent.d/*.toml\n"
  "Per\\-VM drop\\-ins, read after agent.toml in lexical order: their tables add instances,\n"
  "their [agent] keys override.\n"
  ".TP\n"
  ".I ${INSTALLED_PLUGIN_DIR}\n"
  "Plugins: probe\\-NAME.so and sink\\-NAME.so.\n"
  ".SH \"SEE ALSO\"\n"
  "\\fBcellos\\-telemetry\\-recv \\-\\-help\\fR: the host\\-side receiver, for operators and tests.\n"
  ".PP\n"
  "/usr/share/doc/cellos\\-telemetry/README.md describes installation and guest images.\n")
file(WRITE "${OUT}" "${page}")
# Debian installs man pages compressed.
file(ARCHIVE_CREATE OUTPUT "${OUT}.gz" PATHS "${OUT}" FORMAT raw COMPRESSION GZip)
