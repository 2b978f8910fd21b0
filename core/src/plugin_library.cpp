#include "plugin_library.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "config.hpp"
#include "descriptor_check.hpp"
#include "trusted_open.hpp"

namespace cellos::telemetry {
namespace {

std::function<void()>& before_load_hook() {
  static std::function<void()> hook;
  return hook;
}

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw ConfigError(path + ": " + reason);
}

std::string abi_str(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

PluginLibrary::~PluginLibrary() {
  if (!file_) return;
  const std::string by_fd = proc_fd_path(file_.get());
  lib_.unload();
  // dlclose may keep an object mapped (STB_GNU_UNIQUE symbols make C++ libraries stay): then its
  // name must not come back for another file, so the descriptor is kept open for good.
  if (void* still = dlopen(by_fd.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    dlclose(still);
    (void)file_.release();
  }
}

const char* kind_name(ct_kind kind) {
  return kind == CT_KIND_PROBE ? "probe" : "sink";
}

std::string plugin_file_name(ct_kind kind, const std::string& name) {
  return std::string(kind_name(kind)) + "-" + name + ".so";
}

std::shared_ptr<PluginLibrary> load_plugin_file(const std::string& path, ct_kind expected_kind,
                                                const std::string& expected_name,
                                                bool allow_untrusted) {
  // The descriptor is what dlopen maps: the path is never resolved again (trusted_open.hpp).
  UniqueFd file = open_plugin_file(path, !allow_untrusted);
  if (before_load_hook()) before_load_hook()();
  const std::string by_fd = proc_fd_path(file.get());

  boost::dll::shared_library lib;
  boost::dll::fs::error_code ec;
  // RTLD_LOCAL keeps one plugin's symbols from resolving another's; RTLD_NOW reports a missing
  // dependency here rather than at the first call.
  lib.load(by_fd, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    const char* why = dlerror();
    std::string reason = why ? why : ec.message();
    // dlerror names /proc/self/fd/N; the operator knows the file by its path.
    for (size_t at; (at = reason.find(by_fd)) != std::string::npos;) {
      reason.replace(at, by_fd.size(), path);
    }
    fail(path, "not a loadable shared object: " + reason);
  }
  if (!lib.has(CT_ENTRY_POINT)) {
    fail(path, std::string("entry point '") + CT_ENTRY_POINT +
                   "' not found: not a cellos-telemetry plugin, or built without the SDK macro");
  }
  const auto entry = lib.get<const ct_plugin*()>(CT_ENTRY_POINT);
  const ct_plugin* d = entry();
  if (d == nullptr) fail(path, "entry point returned no descriptor");
  if (d->abi_major != CT_ABI_MAJOR) {
    fail(path, "plugin ABI " + abi_str(d->abi_major, d->abi_minor) +
                   " is incompatible with the agent's ABI " + abi_str(CT_ABI_MAJOR, CT_ABI_MINOR) +
                   " (major versions differ): rebuild it against this SDK");
  }
  if (d->abi_minor > CT_ABI_MINOR) {
    fail(path, "plugin ABI " + abi_str(d->abi_major, d->abi_minor) +
                   " is newer than the agent's ABI " + abi_str(CT_ABI_MAJOR, CT_ABI_MINOR) +
                   ": upgrade the agent or rebuild the plugin");
  }
  validate_descriptor(*d, path);
  if (d->kind != expected_kind) {
    fail(path, std::string("is a ") + kind_name(d->kind) +
                   " plugin, but the config names it as a " + kind_name(expected_kind));
  }
  if (!expected_name.empty() && expected_name != d->name) {
    fail(path, std::string("declares the name '") + d->name + "', but its file name says '" +
                   expected_name + "'");
  }
  return std::make_shared<PluginLibrary>(path, std::move(file), std::move(lib), d);
}

std::shared_ptr<PluginLibrary> find_and_load_plugin(const std::vector<std::string>& dirs,
                                                    ct_kind kind, const std::string& name,
                                                    bool allow_untrusted) {
  const std::string file = plugin_file_name(kind, name);
  std::string tried;
  for (const auto& dir : dirs) {
    const std::string path = (std::filesystem::path(dir) / file).string();
    if (access(path.c_str(), F_OK) == 0) {
      return load_plugin_file(path, kind, name, allow_untrusted);
    }
    tried += std::string(tried.empty() ? "" : ", ") + path;
  }
  throw ConfigError(file + ": " + kind_name(kind) + " plugin '" + name +
                    "' not found (searched: " + tried + ")");
}

void set_before_load_hook_for_test(std::function<void()> hook) {
  before_load_hook() = std::move(hook);
}

std::vector<std::string> list_plugin_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if ((n.starts_with("probe-") || n.starts_with("sink-")) && n.ends_with(".so")) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cellos::telemetry
