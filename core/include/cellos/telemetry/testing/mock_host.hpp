// A host without the agent, for unit tests of a plugin: MockHost is a ct_host whose emit records
// the events (deep copies), whose timer and fd calls are recorded rather than run, and whose log
// keeps the lines. PluginUnderTest loads a built plugin .so (or takes a descriptor), creates one
// instance on a MockHost with the declared defaults and the overrides given, and calls the
// instance's functions as the agent would, turning a failure into an exception.
// What it does not do: run an event loop (the test calls on_timer/on_fd itself), validate option
// values against the table (the agent does; pass valid ones), repair UTF-8 or check the event
// contract (the agent disables a probe that breaks it; see docs/writing-a-probe.md).
#pragma once

#include <cellos/telemetry/plugin_abi.h>
#include <dlfcn.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cellos::telemetry::testing {

// One extra as emitted: type and the field of that type.
struct RecordedValue {
  uint32_t type = 0;  // a ct_value_type
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  std::string text;
  std::vector<std::string> list;
};

struct RecordedEvent {
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::vector<std::pair<std::string, RecordedValue>> extras;

  const RecordedValue* extra(std::string_view key) const {
    for (const auto& [k, v] : extras) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class MockHost {
 public:
  explicit MockHost(std::string instance_name = "probes.test[0]")
      : name_(std::move(instance_name)) {
    host_.struct_size = sizeof host_;
    host_.ctx = this;
    host_.instance_name = name_.c_str();
    host_.emit = [](void* c, const ct_event* e) { self(c).record(*e); };
    host_.watch_fd = [](void* c, int fd, uint32_t events) {
      self(c).watched[fd] = events;
      return 0;
    };
    host_.unwatch_fd = [](void* c, int fd) { return self(c).watched.erase(fd) ? 0 : -2; };
    host_.arm_timer = [](void* c, uint64_t first_ns, uint64_t interval_ns) {
      self(c).timer_first_ns = first_ns;
      self(c).timer_interval_ns = interval_ns;
      return 0;
    };
    host_.log = [](void* c, int level, const char* m) { self(c).logs.emplace_back(level, m); };
    host_.wake = [](void* c) { ++self(c).wakes; };
    host_.stream = &stream;  // ABI 2.1; a test may change any field before create
  }
  MockHost(const MockHost&) = delete;
  MockHost& operator=(const MockHost&) = delete;

  const ct_host* get() const { return &host_; }
  bool timer_armed() const { return timer_first_ns != 0; }

  // What ct_host.stream says (ABI 2.1): a fixed identity a test can check a sink's hello against.
  ct_stream_info stream{sizeof(ct_stream_info), 0x1234567890abcdefull, "boot-id-for-tests",
                        "0.0.0-test",
                        "0000000000000000000000000000000000000000000000000000000000000000"};
  std::vector<RecordedEvent> events;
  std::map<int, uint32_t> watched;  // fd -> CT_FD_* interest
  uint64_t timer_first_ns = 0;      // 0: disarmed
  uint64_t timer_interval_ns = 0;
  std::vector<std::pair<int, std::string>> logs;  // CT_LOG_* level, message
  size_t wakes = 0;

 private:
  static MockHost& self(void* ctx) { return *static_cast<MockHost*>(ctx); }
  static std::string text(const ct_text& t) { return t.len ? std::string(t.ptr, t.len) : ""; }

  void record(const ct_event& e) {
    RecordedEvent r;
    r.probe_source = e.probe_source ? e.probe_source : "";
    r.guest_pid = e.guest_pid;
    r.guest_comm = e.guest_comm ? e.guest_comm : "";
    r.guest_monotonic_ns = e.guest_monotonic_ns;
    const bool has_extras = e.struct_size >= CT_EVENT_SIZE_2_0 && e.extras != nullptr;
    for (uint32_t k = 0; has_extras && k < e.n_extras; ++k) {
      const ct_value& v = e.extras[k].value;
      RecordedValue x;
      x.type = v.type;
      if (v.type == CT_VALUE_UINT) x.u = v.as.u;
      if (v.type == CT_VALUE_NEGINT) x.i = v.as.i;
      if (v.type == CT_VALUE_BOOL) x.b = v.as.b != 0;
      if (v.type == CT_VALUE_TEXT) x.text = text(v.as.text);
      for (uint32_t j = 0; v.type == CT_VALUE_TEXT_LIST && j < v.as.list.n; ++j) {
        x.list.push_back(text(v.as.list.items[j]));
      }
      r.extras.emplace_back(e.extras[k].key ? e.extras[k].key : "", std::move(x));
    }
    events.push_back(std::move(r));
  }

  std::string name_;
  ct_host host_{};
};

// An option given in a test: an int (also for CT_OPT_BOOL as 0/1, or pass a bool), a string, or
// a string list.
using OptionValue = std::variant<int64_t, bool, std::string, std::vector<std::string>>;

class PluginUnderTest {
 public:
  // Loads a built plugin, e.g. "build/probe-hello.so".
  explicit PluginUnderTest(const std::string& so_path) : PluginUnderTest(load(so_path), nullptr) {}
  // A descriptor already in hand (a plugin linked into the test).
  explicit PluginUnderTest(const ct_plugin* descriptor) : PluginUnderTest(descriptor, nullptr) {}
  ~PluginUnderTest() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  PluginUnderTest(const PluginUnderTest&) = delete;
  PluginUnderTest& operator=(const PluginUnderTest&) = delete;

  const ct_plugin& descriptor() const { return *plugin_; }

  class Instance {
   public:
    ~Instance() {
      if (object_ != nullptr) plugin_->destroy(object_);
    }
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    void start() { call("start", plugin_->start); }
    void stop() { call("stop", plugin_->stop); }
    void on_timer() { call("on_timer", plugin_->on_timer); }
    void on_fd(int fd, uint32_t events) {
      char err[512] = "";
      if (plugin_->on_fd == nullptr) throw std::logic_error("the plugin has no on_fd");
      if (plugin_->on_fd(object_, fd, events, err, sizeof err) != 0) fail("on_fd", err);
    }
    // Sinks: how many of events were taken.
    size_t consume(const std::vector<const ct_event*>& events) {
      char err[512] = "";
      size_t accepted = 0;
      if (plugin_->consume == nullptr) throw std::logic_error("the plugin has no consume");
      if (plugin_->consume(object_, events.data(), events.size(), &accepted, err, sizeof err)) {
        fail("consume", err);
      }
      return accepted;
    }

   private:
    friend class PluginUnderTest;
    Instance(const ct_plugin* plugin, void* object) : plugin_(plugin), object_(object) {}
    using Call = int (*)(void*, char*, size_t);
    void call(const char* what, Call f) {
      char err[512] = "";
      if (f != nullptr && f(object_, err, sizeof err) != 0) fail(what, err);
    }
    [[noreturn]] static void fail(const char* what, const char* err) {
      throw std::runtime_error(std::string(what) + " failed: " + err);
    }
    const ct_plugin* plugin_;
    void* object_;
  };

  // Creates an instance with the declared defaults, overridden by `options` by key (unknown keys
  // are an error here, as in the agent). Throws std::runtime_error("create failed: ...").
  std::unique_ptr<Instance> create(
      MockHost& host, std::initializer_list<std::pair<std::string, OptionValue>> options = {}) {
    const std::map<std::string, OptionValue> given(options.begin(), options.end());
    size_t used = 0;
    std::vector<ct_option_value> values(plugin_->n_options);
    // Storage the values point into, alive until create returns (the plugin copies what it keeps).
    std::vector<std::vector<const char*>> lists(plugin_->n_options);
    for (uint32_t k = 0; k < plugin_->n_options; ++k) {
      const ct_option_spec& spec = plugin_->options[k];
      ct_option_value& v = values[k];
      v.key = spec.key;
      v.type = spec.type;
      v.int_value = spec.int_default;
      v.string_value = spec.string_default;
      for (const char* const* p = spec.list_default; p && *p; ++p) lists[k].push_back(*p);
      if (auto it = given.find(spec.key); it != given.end()) {
        if (auto* i = std::get_if<int64_t>(&it->second)) v.int_value = *i;
        if (auto* b = std::get_if<bool>(&it->second)) v.int_value = *b ? 1 : 0;
        if (auto* s = std::get_if<std::string>(&it->second)) v.string_value = s->c_str();
        if (auto* l = std::get_if<std::vector<std::string>>(&it->second)) {
          lists[k].clear();
          for (const auto& item : *l) lists[k].push_back(item.c_str());
        }
        ++used;
      }
      lists[k].push_back(nullptr);
      v.list_values = lists[k].data();
      v.list_size = static_cast<uint32_t>(lists[k].size() - 1);
    }
    if (used != given.size()) {
      for (const auto& [key, value] : given) {
        bool declared = false;
        for (uint32_t k = 0; k < plugin_->n_options; ++k)
          declared |= key == plugin_->options[k].key;
        if (!declared) throw std::invalid_argument("no option '" + key + "'");
      }
    }
    char err[512] = "";
    void* object = nullptr;
    if (plugin_->create(host.get(), values.data(), plugin_->n_options, &object, err, sizeof err)) {
      throw std::runtime_error(std::string("create failed: ") + err);
    }
    return std::unique_ptr<Instance>(new Instance(plugin_, object));
  }

 private:
  struct Loaded {
    void* handle;
    const ct_plugin* plugin;
  };
  PluginUnderTest(Loaded l, std::nullptr_t) : handle_(l.handle), plugin_(l.plugin) {}
  PluginUnderTest(const ct_plugin* p, std::nullptr_t) : plugin_(p) {}

  static Loaded load(const std::string& path) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) throw std::runtime_error("cannot load " + path + ": " + dlerror());
    auto entry = reinterpret_cast<ct_entry_point_fn>(dlsym(h, CT_ENTRY_POINT));
    const ct_plugin* p = entry ? entry() : nullptr;
    if (p == nullptr) {
      dlclose(h);
      throw std::runtime_error(path + ": no " CT_ENTRY_POINT " or it returned NULL");
    }
    return {h, p};
  }

  void* handle_ = nullptr;
  const ct_plugin* plugin_;
};

}  // namespace cellos::telemetry::testing
