// hello: the smallest useful sink, built outside the cellos-telemetry tree against the installed
// SDK. It appends every event it is offered to a file, one line each:
//   PROBE_SOURCE PID COMM NS [KEY=VALUE]...
// with unsigned, negative and boolean extras written out and text ones counted by length. It is
// written to show the three things a sink decides: what consume takes (a prefix, here all or
// nothing per line written), what a throw does (the agent disables the instance), and what flush
// owes at shutdown (nothing: every line is written before consume returns).
#include <fcntl.h>
#include <unistd.h>
#include <cellos/telemetry/sdk.hpp>
#include <cellos/telemetry/unique_fd.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

namespace ctt = cellos::telemetry;

void append_extra(std::string& out, const ct_extra& x) {
  out += ' ';
  out += x.key;
  out += '=';
  switch (x.value.type) {
    case CT_VALUE_UINT:
      out += std::to_string(x.value.as.u);
      break;
    case CT_VALUE_NEGINT:
      out += std::to_string(x.value.as.i);
      break;
    case CT_VALUE_BOOL:
      out += x.value.as.b ? "true" : "false";
      break;
    case CT_VALUE_TEXT:
      out += "text(" + std::to_string(x.value.as.text.len) + ")";
      break;
    default:
      // A type newer than this sink (a later minor ABI) or a list: skip the value, keep the key.
      out += '?';
  }
}

class HelloSink : public ctt::Sink {
 public:
  HelloSink(ctt::Host host, const ctt::Options& opts)
      : host_(host), path_(opts.get_string("path")) {
    if (path_.empty()) throw std::invalid_argument("path must not be empty");
  }

  // Not in the constructor: --check-config creates instances too, and must change nothing.
  void start() override {
    fd_.reset(open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd_) throw std::runtime_error("cannot open " + path_ + ": " + std::strerror(errno));
  }

  // Runs on the agent's one event loop: it must not block for long. A regular file does not;
  // a sink writing to a socket would take what fits, return that count, and call host_.wake()
  // once the socket is writable again (the agent offers nothing more until then).
  size_t consume(ctt::Events events) override {
    std::string out;
    for (const ct_event& e : events) {
      out += e.probe_source;
      out += ' ' + std::to_string(e.guest_pid) + ' ' + e.guest_comm + ' ' +
             std::to_string(e.guest_monotonic_ns);
      for (uint32_t i = 0; i < e.n_extras; ++i) append_extra(out, e.extras[i]);
      out += '\n';
    }
    // A throw reports the error and disables this instance (the batch counts as not taken); other
    // sinks go on.
    if (write(fd_.get(), out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
    }
    return events.size();
  }

 private:
  ctt::Host host_;
  std::string path_;
  ctt::UniqueFd fd_;
};

constexpr ct_option_spec kOptions[] = {
    ctt::string_option("path", "the file events are appended to", "/tmp/hello-sink.log"),
};

}  // namespace

CELLOS_TELEMETRY_SINK(HelloSink, "hello", "0.1.0",
                      "events appended to a file, one line each (the SDK's example sink)", kOptions)
