# Debian packages, one per component group (see cmake/CellosTelemetryInstall.cmake):
#   cellos-telemetry      agent, in-tree plugins, cellos-telemetry-recv, the config (a conffile),
#                         the man page and README        components agent, tools, doc
#   cellos-telemetry-dev  headers, CMake package, guide and example      component sdk
# Build them from a tree configured for /usr (see packaging/README.md):
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
#         -DCELLOS_TELEMETRY_TESTS=OFF -DCELLOS_TELEMETRY_BENCH=OFF
#   cmake --build build-deb && (cd build-deb && cpack)
# Included last from the top-level CMakeLists.txt, after every install() rule.
include_guard(GLOBAL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cellos-telemetry)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "CellOS")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it above every package's description,
# the -dev one's too; each description's first line is its package's synopsis instead.
set(CELLOS_TELEMETRY_PACKAGE_CONTACT "cellos-telemetry maintainers <cellos-telemetry@localhost>"
  CACHE STRING "The Maintainer field of the .deb packages")
set(CPACK_PACKAGE_CONTACT "${CELLOS_TELEMETRY_PACKAGE_CONTACT}")
set(CPACK_STRIP_FILES ON)
# A source package would sweep up the build trees; there is none.
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/")

# The agent finds its plugins relative to its own executable, so any prefix works; but the
# libdir (multiarch for /usr) and /etc for the config follow the prefix the tree was configured
# for, so the package installs under that same prefix. A tree configured for anything but /usr
# still makes working packages, outside Debian's layout; say so.
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "cellos-telemetry: packages will install under ${CMAKE_INSTALL_PREFIX}; "
    "configure with -DCMAKE_INSTALL_PREFIX=/usr for Debian's layout")
endif()

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
# Anything installed without a COMPONENT (the "Unspecified" component) goes to the main package
# rather than silently missing from both.
set(CPACK_COMPONENTS_ALL agent tools doc sdk Unspecified)
set(CPACK_COMPONENT_AGENT_GROUP runtime)
set(CPACK_COMPONENT_TOOLS_GROUP runtime)
set(CPACK_COMPONENT_DOC_GROUP runtime)
set(CPACK_COMPONENT_UNSPECIFIED_GROUP runtime)
set(CPACK_COMPONENT_SDK_GROUP dev)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME cellos-telemetry)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
  "in-guest telemetry agent for Firecracker microVMs
The agent runs inside a microVM guest, started by its init before the workload. Its process
probe reports every process spawned, exec'd and exited; its vsock sink sends each event as a
CBOR frame to the host (CID 2, port 9001). Plugins are loaded from
${CMAKE_INSTALL_FULL_LIBDIR}/cellos-telemetry/plugins.

Also contains cellos-telemetry-recv, the host-side receiver that prints frames as JSON lines,
and cellos-telemetry-tree, which shows those lines as a process tree or a timeline page.")
# The config is the operator's: upgrades must keep their changes. CPack marks nothing as a
# conffile by itself. The path is absolute on the target system, as dpkg wants it.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_ct_conffile /etc/cellos-telemetry/agent.toml)
else()
  set(_ct_conffile ${CMAKE_INSTALL_PREFIX}/etc/cellos-telemetry/agent.toml)
endif()
file(WRITE ${CMAKE_BINARY_DIR}/packaging/deb-runtime/conffiles "${_ct_conffile}\n")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/packaging/deb-runtime/conffiles)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME cellos-telemetry-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "SDK for cellos-telemetry probe and sink plugins
Headers (the versioned plugin boundary and the C++ SDK) and the CMake package CellosTelemetry:
find_package(CellosTelemetry 0.1) and cellos_telemetry_add_probe(NAME sources...) build a
plugin the agent loads. With the plugin author's guide and an example probe.")
# Not Architecture: all although it holds no binary: the CMake package lives in the multiarch
# libdir and names the agent's plugin directory there.
# Headers only, nothing to link; a plugin is only useful with an agent whose ABI minor is at
# least the one it was built against, which the same version provides.
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "cellos-telemetry (>= ${PROJECT_VERSION})")

# Depends from what the binaries actually link (libtomlplusplus3, libcbor0.8, libstdc++6, ...)
# when dpkg-shlibdeps is there; otherwise the list as of Debian 12.
find_program(CELLOS_TELEMETRY_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(CELLOS_TELEMETRY_DPKG_SHLIBDEPS)
if(CELLOS_TELEMETRY_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "libc6, libgcc-s1, libstdc++6, libtomlplusplus3, libcbor0.8")
endif()

include(CPack)
