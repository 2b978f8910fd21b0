// The C++ side of the plugin SDK: write a plain class, declare its options, add one macro.
//
//   class MyProbe : public cellos::telemetry::Probe {
//    public:
//     MyProbe(cellos::telemetry::Host host, const cellos::telemetry::Options& opts);
//     void start() override;
//     void on_timer() override;
//   };
//   constexpr ct_option_spec kOptions[] = {
//       cellos::telemetry::int_option("interval_ms", "how often", 100, 1, 60000)};
//   CELLOS_TELEMETRY_PROBE(MyProbe, "my", "0.1.0", "what it observes", kOptions)
//
// The macro generates the noexcept C entry points; an exception thrown by the class becomes the
// error string the agent reports, and never crosses the boundary.
#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cellos::telemetry {

constexpr ct_option_spec bool_option(const char* key, const char* description, bool def) {
  return ct_option_spec{key, CT_OPT_BOOL, description, def ? 1 : 0, 0,
                        1,   nullptr,     nullptr,     nullptr};
}
constexpr ct_option_spec int_option(const char* key, const char* description, int64_t def,
                                    int64_t min, int64_t max) {
  return ct_option_spec{key, CT_OPT_INT, description, def, min, max, nullptr, nullptr, nullptr};
}
// choices: NULL-terminated list of allowed values, or nullptr for any string.
constexpr ct_option_spec string_option(const char* key, const char* description, const char* def,
                                       const char* const* choices = nullptr) {
  return ct_option_spec{key, CT_OPT_STRING, description, 0, 0, 0, def, choices, nullptr};
}
constexpr ct_option_spec string_list_option(const char* key, const char* description,
                                            const char* const* def) {
  return ct_option_spec{key, CT_OPT_STRING_LIST, description, 0, 0, 0, nullptr, nullptr, def};
}

// Read-only view of the validated options the agent passed to create().
class Options {
 public:
  Options(const ct_option_value* values, uint32_t n) : values_(values, n) {}

  int64_t get_int(std::string_view key) const { return find(key, CT_OPT_INT).int_value; }
  bool get_bool(std::string_view key) const { return find(key, CT_OPT_BOOL).int_value != 0; }
  std::string get_string(std::string_view key) const {
    const auto& v = find(key, CT_OPT_STRING);
    return v.string_value ? v.string_value : "";
  }
  std::vector<std::string> get_list(std::string_view key) const {
    const auto& v = find(key, CT_OPT_STRING_LIST);
    return {v.list_values, v.list_values + v.list_size};
  }

 private:
  const ct_option_value& find(std::string_view key, ct_option_type type) const {
    for (const auto& v : values_) {
      if (key == v.key && v.type == type) return v;
    }
    throw std::logic_error("option not declared with that type: " + std::string(key));
  }
  std::span<const ct_option_value> values_;
};

// What the agent offers an instance; cheap to copy.
class Host {
 public:
  explicit Host(const ct_host* host) : host_(host) {}

  void emit(const ct_event& event) const { host_->emit(host_->ctx, &event); }
  void emit(const char* source, uint32_t pid, const char* comm, uint64_t monotonic_ns) const {
    const ct_event e{source, pid, comm, monotonic_ns, nullptr, 0};
    emit(e);
  }
  void watch_fd(int fd, uint32_t events) const { check(host_->watch_fd(host_->ctx, fd, events)); }
  void unwatch_fd(int fd) const { host_->unwatch_fd(host_->ctx, fd); }
  void arm_timer(uint64_t first_ns, uint64_t interval_ns) const {
    check(host_->arm_timer(host_->ctx, first_ns, interval_ns));
  }
  void log(int level, const std::string& message) const {
    host_->log(host_->ctx, level, message.c_str());
  }
  void warn(const std::string& message) const { log(CT_LOG_WARN, message); }
  void wake() const { host_->wake(host_->ctx); }
  const char* instance_name() const { return host_->instance_name; }

 private:
  static void check(int rc) {
    if (rc < 0) throw std::runtime_error(std::string("event loop: ") + std::strerror(-rc));
  }
  const ct_host* host_;
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual void start() {}
  virtual void stop() {}
  virtual void on_fd(int /*fd*/, uint32_t /*events*/) {}
  virtual void on_timer() {}
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void start() {}
  virtual void stop() {}
  virtual void on_fd(int /*fd*/, uint32_t /*events*/) {}
  virtual void on_timer() {}
  // Take a prefix of events; return how many were taken. Taking fewer than offered pauses
  // delivery until Host::wake().
  virtual size_t consume(std::span<const ct_event> events) = 0;
  // Called at shutdown until it returns true or the agent's deadline passes.
  virtual bool flush() { return true; }
};

namespace detail {

inline void set_error(char* err, size_t size, const char* message) {
  if (err == nullptr || size == 0) return;
  std::strncpy(err, message, size - 1);
  err[size - 1] = '\0';
}

// Runs f, turning any exception into the error string and a non-zero return.
template <class F>
int guarded(char* err, size_t size, F&& f) noexcept {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    set_error(err, size, e.what());
  } catch (...) {
    set_error(err, size, "unknown exception");
  }
  return 1;
}

template <class T>
struct Adapter {
  static int create(const ct_host* host, const ct_option_value* values, uint32_t n, void** instance,
                    char* err, size_t size) noexcept {
    return guarded(err, size, [&] { *instance = new T(Host(host), Options(values, n)); });
  }
  static void destroy(void* instance) noexcept {
    try {
      delete static_cast<T*>(instance);
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not take the agent down
    }
  }
  static T& self(void* instance) { return *static_cast<T*>(instance); }
  static int start(void* i, char* err, size_t size) noexcept {
    return guarded(err, size, [&] { self(i).start(); });
  }
  static int stop(void* i, char* err, size_t size) noexcept {
    return guarded(err, size, [&] { self(i).stop(); });
  }
  static int on_fd(void* i, int fd, uint32_t events, char* err, size_t size) noexcept {
    return guarded(err, size, [&] { self(i).on_fd(fd, events); });
  }
  static int on_timer(void* i, char* err, size_t size) noexcept {
    return guarded(err, size, [&] { self(i).on_timer(); });
  }
  static int consume(void* i, const ct_event* events, size_t n, size_t* accepted, char* err,
                     size_t size) noexcept {
    if constexpr (std::is_base_of_v<Sink, T>) {
      return guarded(err, size, [&] { *accepted = self(i).consume({events, n}); });
    } else {
      return 1;
    }
  }
  static int flush(void* i, int* done, char* err, size_t size) noexcept {
    if constexpr (std::is_base_of_v<Sink, T>) {
      return guarded(err, size, [&] { *done = self(i).flush() ? 1 : 0; });
    } else {
      *done = 1;
      return 0;
    }
  }
};

template <class T, size_t N>
constexpr ct_plugin describe(ct_kind kind, const char* name, const char* version,
                             const char* summary, const ct_option_spec (&options)[N]) {
  using A = Adapter<T>;
  return ct_plugin{sizeof(ct_plugin), CT_ABI_MAJOR, CT_ABI_MINOR, kind,      name,
                   version,           summary,      options,      N,         &A::create,
                   &A::destroy,       &A::start,    &A::stop,     &A::on_fd, &A::on_timer,
                   &A::consume,       &A::flush};
}

template <class T>
constexpr ct_plugin describe(ct_kind kind, const char* name, const char* version,
                             const char* summary, std::nullptr_t /*no options*/) {
  ct_plugin p = describe<T>(kind, name, version, summary, {ct_option_spec{}});
  p.options = nullptr;
  p.n_options = 0;
  return p;
}

}  // namespace detail
}  // namespace cellos::telemetry

#define CELLOS_TELEMETRY_EXPORT_ extern "C" __attribute__((visibility("default")))

// Turns a class derived from cellos::telemetry::Probe into a loadable probe plugin.
#define CELLOS_TELEMETRY_PROBE(CLASS, NAME, VERSION, SUMMARY, OPTIONS)                  \
  CELLOS_TELEMETRY_EXPORT_ const ct_plugin* cellos_telemetry_plugin(void) noexcept {    \
    static_assert(std::is_base_of_v<::cellos::telemetry::Probe, CLASS>, "not a Probe"); \
    static const ct_plugin plugin = ::cellos::telemetry::detail::describe<CLASS>(       \
        CT_KIND_PROBE, NAME, VERSION, SUMMARY, OPTIONS);                                \
    return &plugin;                                                                     \
  }

// Turns a class derived from cellos::telemetry::Sink into a loadable sink plugin.
#define CELLOS_TELEMETRY_SINK(CLASS, NAME, VERSION, SUMMARY, OPTIONS)                 \
  CELLOS_TELEMETRY_EXPORT_ const ct_plugin* cellos_telemetry_plugin(void) noexcept {  \
    static_assert(std::is_base_of_v<::cellos::telemetry::Sink, CLASS>, "not a Sink"); \
    static const ct_plugin plugin = ::cellos::telemetry::detail::describe<CLASS>(     \
        CT_KIND_SINK, NAME, VERSION, SUMMARY, OPTIONS);                               \
    return &plugin;                                                                   \
  }
