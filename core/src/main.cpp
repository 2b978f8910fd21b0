// cellos-telemetry: the in-guest agent. Exit codes (sysexits.h): 0 clean stop, 64 bad command
// line, 70 internal error, 78 configuration or plugin-loading error.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent.hpp"
#include "config.hpp"
#include "core_options.hpp"
#include "event_names.hpp"
#include "exit_codes.hpp"
#include "log.hpp"
#include "option_table.hpp"
#include "plugin_library.hpp"
#include "readiness.hpp"

#ifndef CELLOS_TELEMETRY_VERSION
#define CELLOS_TELEMETRY_VERSION "0.0.0"
#endif
// Where plugins are installed, relative to the installed executable's directory, and the same
// directory for the configured prefix (core/CMakeLists.txt computes both).
#ifndef CELLOS_TELEMETRY_PLUGIN_DIR_FROM_BINDIR
#define CELLOS_TELEMETRY_PLUGIN_DIR_FROM_BINDIR "../lib/cellos-telemetry/plugins"
#endif
#ifndef CELLOS_TELEMETRY_DEFAULT_PLUGIN_DIR
#define CELLOS_TELEMETRY_DEFAULT_PLUGIN_DIR "/usr/lib/cellos-telemetry/plugins"
#endif

namespace ct = cellos::telemetry;
using ct::kExitConfig;
using ct::kExitOk;
using ct::kExitSoftware;
using ct::kExitUsage;

namespace {

// Standard output through stdio, not <iostream>: its static objects and locale set-up would be
// paid (and stay resident) in every guest for the few lines --help and --version print.
void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

constexpr const char* kDefaultConfig = "/etc/cellos-telemetry/agent.toml";

const char* const kUsage =
    "Usage: cellos-telemetry [OPTIONS]\n"
    "\n"
    "Watches what happens in this guest and declares it to the host.\n"
    "\n"
    "Options:\n"
    "  --config FILE        configuration file (default /etc/cellos-telemetry/agent.toml);\n"
    "                       then every *.toml in agent.d/ beside it, in lexical order\n"
    "  --plugin-dir DIR     where plugins are found (overrides [agent] plugin_dir);\n"
    "                       repeat it to search several directories in order; default:\n"
    "                       <directory of this executable>/" CELLOS_TELEMETRY_PLUGIN_DIR_FROM_BINDIR
    "\n"
    "  --check-config       parse the config, load and validate every plugin, print what\n"
    "                       would run and the config_digest agent.hello will carry, and exit\n"
    "  --fork               run in the background; return only once probes are running and\n"
    "                       sinks have tried to connect (exit 0), or with the error's code\n"
    "  --ready-timeout-ms N with --fork: give up (exit 70) after N ms (default 2000)\n"
    "  --version            print the version and the plugin ABI version\n"
#ifdef CELLOS_TELEMETRY_DEVELOPER_BUILD
    "  --allow-untrusted-plugins  load plugins even when someone other than root or\n"
    "                       this user could have changed them (developer builds only)\n"
    "  --uevent-socket-for-test PATH  take VM generation announcements from datagrams sent\n"
    "                       to a Unix socket bound at PATH, not from the kernel (tests)\n"
#endif

    "  --help               this text, with the options of every plugin found (exit 78\n"
    "                       after listing them if one of them cannot be loaded)\n"
    "  --options-markdown PLUGIN.so|agent|probes|sinks  print that plugin's options, or the\n"
    "                       core's for [agent] or every [[probes.NAME]] / [[sinks.NAME]], as\n"
    "                       a Markdown table (for the READMEs)\n"
    "\n"
    "Exit codes: 0 clean stop (SIGTERM/SIGINT), 64 bad command line, 70 internal error,\n"
    "78 configuration or plugin-loading error.\n";

struct CommandLine {
  std::string config = kDefaultConfig;
  std::vector<std::string> plugin_dirs;  // --plugin-dir, repeatable, searched in order
  bool check_config = false;
  bool version = false;
  bool help = false;
  bool fork = false;
  bool allow_untrusted = false;
  std::string uevent_socket_for_test;  // developer builds only
  long ready_timeout_ms = 2000;
  // Development: print one plugin's options, or a table of the core's, as a Markdown table
  // (for the READMEs).
  std::optional<std::string> options_markdown;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The core's own option tables, by the name --options-markdown takes instead of a plugin file.
std::optional<std::span<const ct_option_spec>> core_table(const std::string& name) {
  if (name == "agent") return ct::agent_options();
  if (name == "probes") return ct::core_options(CT_KIND_PROBE);
  if (name == "sinks") return ct::core_options(CT_KIND_SINK);
  return std::nullopt;
}

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine cl;
  const auto value = [&](int& i, const std::string& flag, const std::string& arg) {
    const auto eq = arg.find('=');
    if (eq != std::string::npos) return arg.substr(eq + 1);
    if (i + 1 >= argc) throw UsageError(flag + " needs a value");
    return std::string(argv[++i]);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::string flag = arg.substr(0, arg.find('='));
    if (flag == "--config") {
      cl.config = value(i, flag, arg);
    } else if (flag == "--plugin-dir") {
      cl.plugin_dirs.push_back(value(i, flag, arg));
    } else if (arg == "--check-config") {
      cl.check_config = true;
    } else if (arg == "--allow-untrusted-plugins") {
#ifdef CELLOS_TELEMETRY_DEVELOPER_BUILD
      cl.allow_untrusted = true;
#else
      throw UsageError("--allow-untrusted-plugins exists only in developer builds");
#endif
    } else if (flag == "--uevent-socket-for-test") {
#ifdef CELLOS_TELEMETRY_DEVELOPER_BUILD
      cl.uevent_socket_for_test = value(i, flag, arg);
#else
      throw UsageError("--uevent-socket-for-test exists only in developer builds");
#endif
    } else if (arg == "--fork") {
      cl.fork = true;
    } else if (flag == "--ready-timeout-ms") {
      const std::string v = value(i, flag, arg);
      char* end = nullptr;
      cl.ready_timeout_ms = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || cl.ready_timeout_ms < 1 || cl.ready_timeout_ms > 600000) {
        throw UsageError("--ready-timeout-ms needs a number of milliseconds from 1 to 600000");
      }
    } else if (arg == "--version") {
      cl.version = true;
    } else if (arg == "--help" || arg == "-h") {
      cl.help = true;
    } else if (flag == "--options-markdown") {
      cl.options_markdown = value(i, flag, arg);
    } else {
      throw UsageError("unknown argument '" + arg + "'");
    }
  }
  return cl;
}

// The directory the plugins were installed into beside this executable, found from where the
// executable really is (symlinks resolved), so that an install under any prefix, or moved as a
// whole, finds its own plugins. Without /proc, the directory for the configured prefix.
std::string installed_plugin_dir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec || !exe.is_absolute()) return CELLOS_TELEMETRY_DEFAULT_PLUGIN_DIR;
  return (exe.parent_path() / CELLOS_TELEMETRY_PLUGIN_DIR_FROM_BINDIR).lexically_normal().string();
}

// --plugin-dir wins; then [agent] plugin_dir, relative to the directory of the file that set it;
// then the directory the plugins were installed into beside this executable.
std::vector<std::string> resolve_plugin_dirs(const CommandLine& cl, const ct::AgentConfig* cfg) {
  if (!cl.plugin_dirs.empty()) return cl.plugin_dirs;
  if (cfg && !cfg->plugin_dir.empty()) {
    std::filesystem::path p(cfg->plugin_dir);
    if (p.is_relative()) {
      p = std::filesystem::path(cfg->agent_key_where.at("plugin_dir").file).parent_path() / p;
    }
    return {p.lexically_normal().string()};
  }
  return {installed_plugin_dir()};
}

// A plugin file that cannot be loaded is reported on stderr, the others are still listed, and
// the exit code is then 78: --help must not hide (or crash on) a broken file that a real run
// would refuse.
int print_help(const CommandLine& cl) {
  print(std::string(kUsage) + "\nConfiguration file (TOML), the core's own keys:\n" +
        "\n[agent] options:\n" + ct::options_as_text(ct::agent_options()) +
        "\nEvery [[probes.NAME]] table also takes:\n" +
        ct::options_as_text(ct::core_options(CT_KIND_PROBE)) +
        "\nEvery [[sinks.NAME]] table also takes:\n" +
        ct::options_as_text(ct::core_options(CT_KIND_SINK)));
  int exit_code = kExitOk;
  std::optional<ct::AgentConfig> cfg;
  try {
    cfg = ct::load_config_file(cl.config, ct::default_drop_in_dir(cl.config));
  } catch (const ct::ConfigError&) {
    // --help works without a readable config; plugins then come from the default directory.
  }
  for (const auto& dir : resolve_plugin_dirs(cl, cfg ? &*cfg : nullptr)) {
    print("\nPlugins in " + dir + " (options go in [[probes.NAME]] / [[sinks.NAME]]):\n");
    const auto files = ct::list_plugin_files(dir);
    if (files.empty()) print("  (none found)\n");
    for (const auto& path : files) {
      const std::string file = std::filesystem::path(path).filename().string();
      const ct_kind kind = file.starts_with("probe-") ? CT_KIND_PROBE : CT_KIND_SINK;
      try {
        const auto lib = ct::load_plugin_file(path, kind, "", cl.allow_untrusted);
        const ct_plugin& d = lib->descriptor();
        print("\n  " + std::string(ct::kind_name(kind)) + " " + d.name + " " + d.version + ": " +
              (d.summary ? d.summary : "") + "\n");
        // The names it may emit: what an operator writes sinks' `match` globs against.
        if (kind == CT_KIND_PROBE) print("    emits: " + ct::join_emits(d.emits) + "\n");
        print(ct::options_as_text(d));
      } catch (const ct::ConfigError& e) {
        std::fflush(stdout);
        ct::log_line(CT_LOG_ERROR, e.what());
        exit_code = kExitConfig;
      }
    }
  }
  return exit_code;
}

int print_options_markdown(const std::string& path, bool allow_untrusted) {
  if (const auto table = core_table(path)) {
    print(ct::options_as_markdown(*table));
    return kExitOk;
  }
  const std::string file = std::filesystem::path(path).filename().string();
  const ct_kind kind = file.starts_with("probe-") ? CT_KIND_PROBE : CT_KIND_SINK;
  const auto lib = ct::load_plugin_file(path, kind, "", allow_untrusted);
  print(ct::options_as_markdown(lib->descriptor()));
  return kExitOk;
}

int run(const CommandLine& cl, ct::Readiness& readiness) {
  if (cl.version) {
    print(std::string("cellos-telemetry ") + CELLOS_TELEMETRY_VERSION + " (plugin ABI " +
          std::to_string(CT_ABI_MAJOR) + "." + std::to_string(CT_ABI_MINOR) + ")\n");
    return kExitOk;
  }
  if (cl.help) return print_help(cl);
  if (cl.options_markdown) return print_options_markdown(*cl.options_markdown, cl.allow_untrusted);

  ct::AgentConfig cfg = ct::load_config_file(cl.config, ct::default_drop_in_dir(cl.config));
  auto dirs = resolve_plugin_dirs(cl, &cfg);
  ct::Agent agent(std::move(cfg), std::move(dirs));
  if (cl.allow_untrusted) {
    ct::log_line(CT_LOG_WARN,
                 "--allow-untrusted-plugins: plugin ownership and permissions are not checked");
    agent.allow_untrusted_plugins();
  }
  if (!cl.uevent_socket_for_test.empty()) {
    agent.use_uevent_socket_for_test(cl.uevent_socket_for_test);
  }
  agent.load();
  if (cl.check_config) {
    agent.create();  // created, never started: --check-config checks creation too
    print(agent.describe());
    return kExitOk;
  }
  ct::prepare_signals();
  agent.create();
  agent.start();
  readiness.ready();
  agent.run();
  return kExitOk;
}

// Started with fd 0, 1 or 2 closed, the first descriptors the agent opens would take those
// numbers, and every log line (fd 2) or stdout write (fd 1) would go into them: the vsock
// connection, for one, where the host reads the text as a frame length. So each closed one is
// opened on /dev/null first. A standard fd that cannot be made safe is a reason not to start.
bool open_closed_std_fds() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free number is fd itself, since every lower one is open by now.
    const int opened = open("/dev/null", O_RDWR);
    if (opened < 0) return false;
    if (opened != fd) {
      close(opened);
      errno = EBADF;
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!open_closed_std_fds()) {
    // Written to a closed fd 2 this is lost, but it cannot land anywhere else: nothing is open.
    ct::log_line(CT_LOG_ERROR,
                 std::string("cannot open /dev/null for a closed fd 0-2: ") + std::strerror(errno));
    return kExitSoftware;
  }
  CommandLine cl;
  try {
    cl = parse_command_line(argc, argv);
  } catch (const UsageError& e) {
    const std::string text = std::string("cellos-telemetry: ") + e.what() + "\n\n" + kUsage;
    std::fwrite(text.data(), 1, text.size(), stderr);
    return kExitUsage;
  }
  ct::Readiness readiness;
  try {
    if (cl.fork && !cl.help && !cl.version && !cl.check_config && !cl.options_markdown) {
      readiness = ct::Readiness::fork_and_wait(std::chrono::milliseconds(cl.ready_timeout_ms));
    }
    return run(cl, readiness);
  } catch (const ct::ConfigError& e) {
    ct::log_line(CT_LOG_ERROR, e.what());
    readiness.failed(kExitConfig);
    return kExitConfig;
  } catch (const std::exception& e) {
    ct::log_line(CT_LOG_ERROR, std::string("internal error: ") + e.what());
    readiness.failed(kExitSoftware);
    return kExitSoftware;
  }
}
