// The C++ side of the plugin SDK: write a plain class, declare its options, add one macro.
//
//   class MyProbe : public cellos::telemetry::Probe {
//    public:
//     MyProbe(cellos::telemetry::Host host, const cellos::telemetry::Options& opts);
//     void start() override;
//     void on_timer() override;
//     // The probe_source names it emits (word.word, or word.* for a family), NULL-terminated:
//     // the agent disables a probe that emits anything else.
//     static constexpr const char* emits[] = {"my.sample", nullptr};
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
#include <initializer_list>
#include <iterator>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cellos::telemetry {

// The longest guest_comm the agent accepts, in bytes (CT_COMM_MAX_BYTES).
inline constexpr size_t kCommMaxBytes = CT_COMM_MAX_BYTES;

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

// An extra of each type, for events written by hand (C++ callers usually use EventBuilder).
// The strings are borrowed: they must outlive the emit call.
constexpr ct_extra uint_extra(const char* key, uint64_t v) {
  ct_extra x{key, {CT_VALUE_UINT, 0, {}}};
  x.value.as.u = v;
  return x;
}
inline ct_extra text_extra(const char* key, std::string_view v) {
  ct_extra x{key, {CT_VALUE_TEXT, 0, {}}};
  x.value.as.text = ct_text{v.data(), static_cast<uint32_t>(v.size())};
  return x;
}
// A ct_event of this ABI, struct_size filled in.
constexpr ct_event make_event(const char* source, uint32_t pid, const char* comm,
                              uint64_t monotonic_ns, const ct_extra* extras = nullptr,
                              uint32_t n_extras = 0) {
  return ct_event{sizeof(ct_event), source, pid, comm, monotonic_ns, extras, n_extras};
}
// The stream an agent.restored event starts (its stream_id extra), or 0 for any other event.
// A sink that numbers what it takes per stream (seq) starts again from 1 with that event.
inline uint64_t restored_stream_id(const ct_event& e) {
  if (e.probe_source == nullptr || std::string_view(e.probe_source) != "agent.restored") return 0;
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    const ct_extra& x = e.extras[i];
    if (x.key && std::string_view(x.key) == "stream_id" && x.value.type == CT_VALUE_UINT) {
      return x.value.as.u;
    }
  }
  return 0;
}
inline std::string_view text_view(const ct_text& t) {
  return t.len == 0 || t.ptr == nullptr ? std::string_view() : std::string_view(t.ptr, t.len);
}

// Builds one event with typed extras, keeping copies of every string until it is emitted:
//
//   EventBuilder b("process.exec", pid, comm, ns);
//   b.u("uid", 0).i("nice", -5).b("raced", false).text("cwd", cwd).list("argv", args);
//   host.emit(b);
//
// i() takes any signed value and picks the wire type (negative or unsigned). The limits the
// agent enforces (plugin_abi.h, next to ct_extra) are the caller's to respect: a probe that
// emits more extras, longer texts or longer lists than they allow is disabled. clear() starts
// a new event and keeps the memory, so one builder per probe allocates only while it grows.
class EventBuilder {
 public:
  EventBuilder() = default;
  EventBuilder(std::string_view source, uint32_t pid, std::string_view comm,
               uint64_t monotonic_ns) {
    reset(source, pid, comm, monotonic_ns);
  }
  EventBuilder& reset(std::string_view source, uint32_t pid, std::string_view comm,
                      uint64_t monotonic_ns) {
    clear();
    source_.assign(source);
    comm_.assign(comm);
    pid_ = pid;
    ns_ = monotonic_ns;
    return *this;
  }
  void clear() {
    pool_.clear();
    extras_.clear();
    spans_.clear();
  }

  EventBuilder& u(std::string_view key, uint64_t v) { return add(key, CT_VALUE_UINT, v); }
  EventBuilder& i(std::string_view key, int64_t v) {
    return v < 0 ? add(key, CT_VALUE_NEGINT, static_cast<uint64_t>(v))
                 : add(key, CT_VALUE_UINT, static_cast<uint64_t>(v));
  }
  EventBuilder& b(std::string_view key, bool v) { return add(key, CT_VALUE_BOOL, v ? 1 : 0); }
  EventBuilder& text(std::string_view key, std::string_view v) {
    add(key, CT_VALUE_TEXT, 0);
    extras_.back().first = spans_.size();
    extras_.back().n = 1;
    spans_.push_back(store(v));
    return *this;
  }
  template <class Range>  // any range of things convertible to std::string_view
  EventBuilder& list(std::string_view key, const Range& items) {
    add(key, CT_VALUE_TEXT_LIST, 0);
    extras_.back().first = spans_.size();
    for (const auto& item : items) {
      spans_.push_back(store(std::string_view(item)));
      ++extras_.back().n;
    }
    return *this;
  }
  EventBuilder& list(std::string_view key, std::initializer_list<std::string_view> items) {
    return list<std::initializer_list<std::string_view>>(key, items);
  }

  // The event as the boundary carries it; valid until the builder is next changed.
  const ct_event& event() const {
    texts_.clear();
    for (const auto& [offset, length] : spans_) {
      texts_.push_back(ct_text{pool_.data() + offset, static_cast<uint32_t>(length)});
    }
    view_.clear();
    for (const Extra& x : extras_) {
      ct_extra c{pool_.c_str() + x.key, {x.type, 0, {}}};
      if (x.type == CT_VALUE_TEXT) {
        c.value.as.text = texts_[x.first];
      } else if (x.type == CT_VALUE_TEXT_LIST) {
        c.value.as.list =
            ct_text_list{x.n ? &texts_[x.first] : nullptr, static_cast<uint32_t>(x.n)};
      } else if (x.type == CT_VALUE_BOOL) {
        c.value.as.b = static_cast<int>(x.number);
      } else {
        c.value.as.u = x.number;  // NEGINT: the same bits as the int64_t
      }
      view_.push_back(c);
    }
    event_ =
        make_event(source_.c_str(), pid_, comm_.c_str(), ns_,
                   view_.empty() ? nullptr : view_.data(), static_cast<uint32_t>(view_.size()));
    return event_;
  }

 private:
  struct Extra {
    size_t key = 0;  // offset of the NUL-terminated key in pool_
    uint32_t type = 0;
    uint64_t number = 0;
    size_t first = 0, n = 0;  // into spans_
  };
  EventBuilder& add(std::string_view key, uint32_t type, uint64_t number) {
    Extra x;
    x.key = pool_.size();
    pool_.append(key);
    pool_.push_back('\0');
    x.type = type;
    x.number = number;
    extras_.push_back(x);
    return *this;
  }
  // Offsets, not pointers: the pool may move while the event grows.
  std::pair<size_t, size_t> store(std::string_view v) {
    const size_t offset = pool_.size();
    pool_.append(v);
    return {offset, v.size()};
  }

  std::string source_, comm_;
  uint32_t pid_ = 0;
  uint64_t ns_ = 0;
  std::string pool_;
  std::vector<Extra> extras_;
  std::vector<std::pair<size_t, size_t>> spans_;
  mutable std::vector<ct_text> texts_;
  mutable std::vector<ct_extra> view_;
  mutable ct_event event_{};
};

// What the agent offers an instance; cheap to copy.
class Host {
 public:
  explicit Host(const ct_host* host) : host_(host) {}

  void emit(const ct_event& event) const { host_->emit(host_->ctx, &event); }
  void emit(const char* source, uint32_t pid, const char* comm, uint64_t monotonic_ns) const {
    emit(make_event(source, pid, comm, monotonic_ns));
  }
  void emit(const EventBuilder& builder) const { emit(builder.event()); }
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
  // The stream's identity (ABI 2.1), or nullptr from a host too old to offer it.
  const ct_stream_info* stream() const {
    return host_->struct_size >= CT_HOST_SIZE_2_1 ? host_->stream : nullptr;
  }

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
  // The VM generation changed (snapshot restore, clone): re-read the world (ct_plugin.resync).
  virtual void resync() {}
};

// The events a sink is offered: the boundary passes an array of pointers (so ct_event can grow
// in a minor version); this presents it as a range of const ct_event&.
class Events {
 public:
  Events(const ct_event* const* events, size_t n) : events_(events), n_(n) {}
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const ct_event& operator[](size_t i) const { return *events_[i]; }

  class iterator {
   public:
    using value_type = ct_event;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(const ct_event* const* p) : p_(p) {}
    const ct_event& operator*() const { return **p_; }
    iterator& operator++() {
      ++p_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++p_;
      return old;
    }
    bool operator==(const iterator&) const = default;

   private:
    const ct_event* const* p_ = nullptr;
  };
  iterator begin() const { return iterator(events_); }
  iterator end() const { return iterator(events_ + n_); }

 private:
  const ct_event* const* events_;
  size_t n_;
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
  virtual size_t consume(Events events) = 0;
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
  static int consume(void* i, const ct_event* const* events, size_t n, size_t* accepted, char* err,
                     size_t size) noexcept {
    return guarded(err, size, [&] { *accepted = self(i).consume(Events(events, n)); });
  }
  static int flush(void* i, int* done, char* err, size_t size) noexcept {
    return guarded(err, size, [&] { *done = self(i).flush() ? 1 : 0; });
  }
  static int resync(void* i, char* err, size_t size) noexcept {
    return guarded(err, size, [&] { self(i).resync(); });
  }
};

template <class T, size_t N>
constexpr ct_plugin describe(ct_kind kind, const char* name, const char* version,
                             const char* summary, const ct_option_spec (&options)[N]) {
  using A = Adapter<T>;
  ct_plugin p{sizeof(ct_plugin), CT_ABI_MAJOR, CT_ABI_MINOR, kind,      name,
              version,           summary,      options,      N,         &A::create,
              &A::destroy,       &A::start,    &A::stop,     &A::on_fd, &A::on_timer,
              nullptr,           nullptr,      nullptr,      nullptr};
  // Sink-only callbacks stay null in a probe's descriptor (plugin_abi.h: SINK ONLY).
  if constexpr (std::is_base_of_v<Sink, T>) {
    p.consume = &A::consume;
    p.flush = &A::flush;
  } else {
    static_assert(
        requires { T::emits; },
        "a probe class declares the names it emits: static constexpr const char* "
        "emits[] = {\"my.sample\", nullptr};");
    static_assert(std::size(T::emits) > 1 && T::emits[std::size(T::emits) - 1] == nullptr,
                  "a probe's emits lists at least one name and ends with nullptr");
    p.emits = T::emits;
    p.resync = &A::resync;
  }
  return p;
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
