// cellos-telemetry-tree: a VM's JSON lines (cellos-telemetry-recv's output, or the stdout
// sink's) as a process tree, in text or as a timeline page.
// Exit codes (sysexits.h): 0 done, 1 --pid or --vm matched nothing, 64 bad command line (or
// several VMs and no --vm), 65 bad input (FILE:LINE:COL), 66 cannot open the input, 73 cannot
// write the --html file, 74 cannot write stdout.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "event_reader.hpp"
#include "html_report.hpp"
#include "process_ledger.hpp"
#include "selection.hpp"
#include "text_report.hpp"

namespace tr = cellos::telemetry::tree;

namespace {

constexpr int kExitNoMatch = 1;
constexpr int kExitUsage = 64;
constexpr int kExitDataErr = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitCantCreate = 73;
constexpr int kExitIoErr = 74;

const char* const kUsage =
    "Usage: cellos-telemetry-tree [--failed] [--pid N] [--vm LABEL] [--html FILE]\n"
    "                             [--color auto|always|never] [FILE|-]\n"
    "\n"
    "Reads a VM's events as JSON lines (cellos-telemetry-recv's output; FILE, or stdin when\n"
    "FILE is - or absent) and prints its process tree: each process with its arguments, start\n"
    "(seconds from the first event), run time, exit status or signal, CPU and peak memory;\n"
    "OOM kills, segfaults, raced, lost and still-running processes marked.\n"
    "\n"
    "--failed        only failed processes (non-zero exit, signal, segfault, OOM kill) and\n"
    "                their ancestors\n"
    "--pid N         only the subtree of the process(es) with pid N\n"
    "--vm LABEL      the events of that VM (the `vm` key); needed when the input has several\n"
    "--html FILE     write a self-contained timeline page to FILE instead of the text\n"
    "--color WHEN    auto (default: on a terminal, unless NO_COLOR is set or TERM=dumb),\n"
    "                always, never\n"
    "\n"
    "Exit codes: 0 done, 1 --pid or --vm matched nothing, 64 bad command line or several VMs\n"
    "without --vm, 65 bad input (FILE:LINE:COL: reason), 66 cannot open the input, 73 cannot\n"
    "write the --html file, 74 cannot write stdout.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  tr::Selection selection;
  std::optional<std::string> vm, html;
  std::string colour = "auto";
  std::string input = "-";
};

uint32_t parse_pid(const std::string& s) {
  size_t end = 0;
  unsigned long v = 0;
  try {
    v = std::stoul(s, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != s.size() || s[0] == '-' || s[0] == '+' || v > UINT32_MAX) {
    throw UsageError("--pid: '" + s + "' is not a pid");
  }
  return static_cast<uint32_t>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  bool have_input = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--failed") {
      o.selection.failed_only = true;
    } else if (arg == "--pid") {
      o.selection.pid = parse_pid(value());
    } else if (arg == "--vm") {
      o.vm = value();
    } else if (arg == "--html") {
      o.html = value();
    } else if (arg == "--color" || arg == "--colour") {
      o.colour = value();
      if (o.colour != "auto" && o.colour != "always" && o.colour != "never") {
        throw UsageError("--color: '" + o.colour + "' is not auto, always or never");
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option " + arg);
    } else if (have_input) {
      throw UsageError("one input at most (got " + o.input + " and " + arg + ")");
    } else {
      o.input = arg;
      have_input = true;
    }
  }
  return o;
}

bool colour_wanted(const std::string& when) {
  if (when != "auto") return when == "always";
  const char* no_color = std::getenv("NO_COLOR");  // no-color.org: set and not empty
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
         !(term && std::strcmp(term, "dumb") == 0);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

int fail(int code, const std::string& message) {
  std::cerr << "cellos-telemetry-tree: " << message << '\n';
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
        std::cout << kUsage;
        return 0;
      }
    }
    o = parse(argc, argv);
  } catch (const UsageError& e) {
    return fail(kExitUsage, std::string(e.what()) + " (--help for usage)");
  }

  const std::string shown_name = o.input == "-" ? "<stdin>" : o.input;
  std::ifstream file;
  if (o.input != "-") {
    file.open(o.input);
    if (!file) return fail(kExitNoInput, "cannot open " + o.input + ": " + std::strerror(errno));
  }
  std::istream& in = o.input == "-" ? std::cin : file;

  tr::Ledger ledger;
  std::vector<std::string> vms;  // every VM in the input, whichever is kept
  try {
    tr::read_events(in, o.input, [&](tr::Event&& e) {
      if (e.vm && std::find(vms.begin(), vms.end(), *e.vm) == vms.end()) vms.push_back(*e.vm);
      if (o.vm && e.vm && *e.vm != *o.vm) return;
      ledger.apply(e);
    });
  } catch (const tr::InputError& e) {
    return fail(kExitDataErr, e.what());
  }
  if (in.bad()) return fail(kExitNoInput, "cannot read " + shown_name);

  if (!o.vm && vms.size() > 1) {
    return fail(kExitUsage, shown_name + " holds events of " + std::to_string(vms.size()) +
                                " VMs (" + joined(vms) + "): choose one with --vm LABEL");
  }
  if (o.vm && !vms.empty() && std::find(vms.begin(), vms.end(), *o.vm) == vms.end()) {
    return fail(kExitNoMatch,
                "no events of VM " + *o.vm + " in " + shown_name + " (VMs: " + joined(vms) + ")");
  }
  const std::string vm = o.vm ? *o.vm : vms.empty() ? "" : vms.front();

  const auto shown = tr::select(ledger, o.selection);
  if (o.selection.pid && shown.empty()) {
    return fail(kExitNoMatch,
                "no process with pid " + std::to_string(*o.selection.pid) + " in " + shown_name);
  }

  if (o.html) {
    std::ofstream page(*o.html, std::ios::binary | std::ios::trunc);
    if (!page)
      return fail(kExitCantCreate, "cannot write " + *o.html + ": " + std::strerror(errno));
    page << tr::html_page(ledger, shown, vm.empty() ? shown_name : vm + " (" + shown_name + ")");
    page.close();
    if (!page)
      return fail(kExitCantCreate, "cannot write " + *o.html + ": " + std::strerror(errno));
    return 0;
  }

  tr::write_text(ledger, shown, {.colour = colour_wanted(o.colour), .vm = vm}, std::cout);
  std::cout.flush();
  if (!std::cout) return fail(kExitIoErr, "cannot write the output");
  return 0;
}
