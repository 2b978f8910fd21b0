#include "plugin_library.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "config.hpp"

namespace cellos::telemetry {
namespace {

// The fields a descriptor of ABI 1.0 must have, up to and including flush.
constexpr size_t kMinDescriptorSize = offsetof(ct_plugin, flush) + sizeof(ct_plugin::flush);

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw ConfigError(path + ": " + reason);
}

std::string abi_str(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// sshd's StrictModes, for code we are about to run as root: the file and every directory above
// it must be owned by root or by us, and writable by nobody else. A world-writable directory
// with the sticky bit (/tmp) is allowed: others cannot replace what is ours in it, and what they
// create there is theirs, which the owner check refuses.
void check_trusted(const std::string& path) {
  const uid_t me = geteuid();
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  bool is_file = true;
  while (true) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0)
      fail(path, "cannot check " + p.string() + ": " + std::strerror(errno));
    const std::string what = is_file ? "the file" : "its directory " + p.string();
    if (st.st_uid != 0 && st.st_uid != me) {
      fail(path, "untrusted plugin: " + what + " is owned by uid " + std::to_string(st.st_uid) +
                     ", neither root nor the agent's uid " + std::to_string(me));
    }
    const bool sticky_dir = !is_file && (st.st_mode & S_ISVTX) != 0;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    if ((st.st_mode & S_IWOTH) != 0 && !sticky_dir) {
      fail(path, "untrusted plugin: " + what + " is writable by everyone (mode " + mode + ")");
    }
    if ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0 && !sticky_dir) {
      fail(path, "untrusted plugin: " + what + " is writable by group " +
                     std::to_string(st.st_gid) + " (mode " + mode + ")");
    }
    if (!p.has_parent_path() || p == p.parent_path()) break;
    p = p.parent_path();
    is_file = false;
  }
}

}  // namespace

const char* kind_name(ct_kind kind) {
  return kind == CT_KIND_PROBE ? "probe" : "sink";
}

std::string plugin_file_name(ct_kind kind, const std::string& name) {
  return std::string(kind_name(kind)) + "-" + name + ".so";
}

std::shared_ptr<PluginLibrary> load_plugin_file(const std::string& path, ct_kind expected_kind,
                                                const std::string& expected_name,
                                                bool allow_untrusted) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  if (!allow_untrusted) check_trusted(path);

  boost::dll::shared_library lib;
  boost::dll::fs::error_code ec;
  // RTLD_LOCAL keeps one plugin's symbols from resolving another's; RTLD_NOW reports a missing
  // dependency here rather than at the first call.
  lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    const char* why = dlerror();
    fail(path, std::string("not a loadable shared object: ") + (why ? why : ec.message()));
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
  if (d->struct_size < kMinDescriptorSize || !d->name || !d->version || !d->create || !d->destroy ||
      (d->n_options > 0 && !d->options)) {
    fail(path, "descriptor is incomplete (struct_size " + std::to_string(d->struct_size) + ")");
  }
  if (d->kind != CT_KIND_PROBE && d->kind != CT_KIND_SINK) {
    fail(path, "descriptor declares an unknown kind " + std::to_string(static_cast<int>(d->kind)));
  }
  if (d->kind != expected_kind) {
    fail(path, std::string("is a ") + kind_name(d->kind) +
                   " plugin, but the config names it as a " + kind_name(expected_kind));
  }
  if (d->kind == CT_KIND_SINK && !d->consume) fail(path, "sink descriptor has no consume function");
  if (!expected_name.empty() && expected_name != d->name) {
    fail(path, std::string("declares the name '") + d->name + "', but its file name says '" +
                   expected_name + "'");
  }
  return std::make_shared<PluginLibrary>(path, std::move(lib), d);
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
