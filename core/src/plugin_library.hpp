#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <boost/dll/shared_library.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"  // UniqueFd

namespace cellos::telemetry {

// A loaded plugin file and its checked descriptor. Instances hold a shared_ptr to it, so the
// library is unloaded only after every object it created has been destroyed.
class PluginLibrary {
 public:
  PluginLibrary(std::string path, UniqueFd file, boost::dll::shared_library lib,
                const ct_plugin* descriptor)
      : path_(std::move(path)),
        file_(std::move(file)),
        lib_(std::move(lib)),
        descriptor_(descriptor) {}
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;
  const std::string& path() const { return path_; }
  const ct_plugin& descriptor() const { return *descriptor_; }

 private:
  std::string path_;
  // The descriptor the library was mapped through (/proc/self/fd/N): glibc finds an object
  // already loaded by that name before opening anything, so N stays ours while it is mapped.
  UniqueFd file_;
  boost::dll::shared_library lib_;
  const ct_plugin* descriptor_;
};

// The file name a plugin of that kind and name has: probe-NAME.so, sink-NAME.so.
std::string plugin_file_name(ct_kind kind, const std::string& name);
const char* kind_name(ct_kind kind);

// Loads and checks one plugin file, in this order, each failure a ConfigError naming the file:
// the file exists, it and its directories are trusted (owned by root or us, writable by no one
// else; skipped with allow_untrusted), it loads, the entry point exists, the ABI major matches
// and the minor is not newer than the agent's, the descriptor is complete, the kind is the one
// expected, the name is the one in the file name (when expected_name is not empty).
std::shared_ptr<PluginLibrary> load_plugin_file(const std::string& path, ct_kind expected_kind,
                                                const std::string& expected_name,
                                                bool allow_untrusted = false);

// Finds NAME of KIND in the directories (first hit wins) and loads it. When it is in none, the
// error lists every path tried.
std::shared_ptr<PluginLibrary> find_and_load_plugin(const std::vector<std::string>& dirs,
                                                    ct_kind kind, const std::string& name,
                                                    bool allow_untrusted = false);

// Test seam: runs between the trust checks and the load, so a test can change what the path
// names at the worst moment. An empty function removes it.
void set_before_load_hook_for_test(std::function<void()> hook);

// Every probe-*.so and sink-*.so in dir, sorted; for --help.
std::vector<std::string> list_plugin_files(const std::string& dir);

}  // namespace cellos::telemetry
