// validate_descriptor: a valid descriptor in memory, then one field broken per case, each with
// the exact message; and the {} sentinel fixture through the real binary.
#include "descriptor_check.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <vector>

#include "config.hpp"
#include "harness.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

int fake_create(const ct_host*, const ct_option_value*, uint32_t, void**, char*, size_t) {
  return 0;
}
void fake_destroy(void*) {}
int fake_consume(void*, const ct_event* const*, size_t, size_t*, char*, size_t) {
  return 0;
}

const char* const kChoices[] = {"auto", "fast", nullptr};
const char* const kList[] = {"a.*", nullptr};
const char* const kEmits[] = {"demo.started", "demo.sub.*", nullptr};

// A descriptor and its option table, copied per case so each case breaks one field.
struct Descriptor {
  Descriptor() {
    options = {
        ct_option_spec{"emit_initial", CT_OPT_BOOL, "bool", 1, 0, 1, nullptr, nullptr, nullptr},
        ct_option_spec{"interval_ms", CT_OPT_INT, "int", 100, 1, 1000, nullptr, nullptr, nullptr},
        ct_option_spec{"method", CT_OPT_STRING, "choice", 0, 0, 0, "auto", kChoices, nullptr},
        ct_option_spec{"labels", CT_OPT_STRING_LIST, "list", 0, 0, 0, nullptr, nullptr, kList},
    };
    plugin.struct_size = sizeof(ct_plugin);
    plugin.abi_major = CT_ABI_MAJOR;
    plugin.abi_minor = CT_ABI_MINOR;
    plugin.kind = CT_KIND_PROBE;
    plugin.name = "demo";
    plugin.version = "1.0.0";
    plugin.summary = "a descriptor held in memory";
    plugin.create = &fake_create;
    plugin.destroy = &fake_destroy;
    plugin.emits = kEmits;
  }
  // The plugin with its options pointing at this object's table.
  const ct_plugin& get() {
    plugin.options = null_options ? nullptr : options.data();
    plugin.n_options = static_cast<uint32_t>(options.size());
    return plugin;
  }
  std::vector<ct_option_spec> options;
  bool null_options = false;
  ct_plugin plugin{};
};

std::string error_of(Descriptor& d) {
  try {
    ct::validate_descriptor(d.get(), "/p/probe-demo.so");
  } catch (const ct::ConfigError& e) {
    return e.what();
  }
  return "";
}

struct Case {
  const char* field;
  std::function<void(Descriptor&)> breaks;
  std::string message;  // after "/p/probe-demo.so: invalid descriptor: "
};

const char* const kEmptyChoices[] = {nullptr};
// 300 entries and then the terminator: longer than any table the loader walks.
const std::vector<const char*> kUnterminated = [] {
  std::vector<const char*> v(300, "auto");
  v.push_back(nullptr);
  return v;
}();
const ct_option_spec kNoKey{};
const char* const kNoEmits[] = {nullptr};
const char* const kBadName[] = {"demo.started", "Demo-Started", nullptr};
const char* const kBadPattern[] = {"demo.*.x", nullptr};
const char* const kBareWord[] = {"demo", nullptr};
const char* const kStar[] = {"*", nullptr};
const char* const kAgent[] = {"demo.started", "agent.started", nullptr};
const char* const kTelemetry[] = {"telemetry.*", nullptr};
const char* const kTwice[] = {"demo.a", "demo.b", "demo.a", nullptr};

std::vector<Case> cases() {
  const std::string min_size =
      std::to_string(offsetof(ct_plugin, emits) + sizeof(ct_plugin::emits));
  return {
      {"struct_size", [](Descriptor& d) { d.plugin.struct_size = 8; },
       "struct_size 8 is smaller than the " + min_size + " bytes of an ABI " +
           std::to_string(CT_ABI_MAJOR) + ".0 descriptor"},
      {"kind", [](Descriptor& d) { d.plugin.kind = static_cast<ct_kind>(7); },
       "kind 7 is neither probe (1) nor sink (2)"},
      {"name", [](Descriptor& d) { d.plugin.name = nullptr; }, "name is missing"},
      {"name syntax", [](Descriptor& d) { d.plugin.name = "Demo-1"; },
       "name 'Demo-1' is not a plain identifier ([a-z_][a-z0-9_]*, at most 64 characters)"},
      {"version", [](Descriptor& d) { d.plugin.version = nullptr; }, "version is missing"},
      {"summary", [](Descriptor& d) { d.plugin.summary = nullptr; }, "summary is missing"},
      {"create", [](Descriptor& d) { d.plugin.create = nullptr; }, "create is missing"},
      {"destroy", [](Descriptor& d) { d.plugin.destroy = nullptr; }, "destroy is missing"},
      {"consume",
       [](Descriptor& d) {
         d.plugin.kind = CT_KIND_SINK;
         d.plugin.consume = nullptr;
       },
       "consume is missing (every sink needs it)"},
      {"options", [](Descriptor& d) { d.null_options = true; },
       "options is missing (n_options is 4)"},
      {"n_options", [](Descriptor& d) { d.options.resize(300, d.options[0]); },
       "n_options 300 is more than 256"},
      {"options[].key (the {} sentinel)", [](Descriptor& d) { d.options.push_back(kNoKey); },
       "options[4]: key is missing (an empty {} entry ending the table? n_options counts every "
       "entry, so the table needs no terminator)"},
      {"options[].key syntax", [](Descriptor& d) { d.options[1].key = "interval-ms"; },
       "options[1]: key 'interval-ms' is not a plain identifier ([a-z_][a-z0-9_]*, at most 64 "
       "characters)"},
      {"options[].key unique", [](Descriptor& d) { d.options[3].key = "interval_ms"; },
       "options[3] 'interval_ms': key is declared twice (also options[1])"},
      {"options[].key core", [](Descriptor& d) { d.options[0].key = "enabled"; },
       "options[0] 'enabled': key belongs to the core (it reads it from every probe instance)"},
      {"options[].key core (sink)",
       [](Descriptor& d) {
         d.plugin.kind = CT_KIND_SINK;
         d.plugin.consume = &fake_consume;
         d.options[2].key = "queue_capacity";
       },
       "options[2] 'queue_capacity': key belongs to the core (it reads it from every sink "
       "instance)"},
      {"options[].type", [](Descriptor& d) { d.options[1].type = static_cast<ct_option_type>(9); },
       "options[1] 'interval_ms': type 9 is not a known option type"},
      {"options[].description", [](Descriptor& d) { d.options[2].description = nullptr; },
       "options[2] 'method': description is missing"},
      {"options[].int_default (bool)", [](Descriptor& d) { d.options[0].int_default = 2; },
       "options[0] 'emit_initial': int_default 2 is not 0 or 1 (a bool's default)"},
      {"options[].int_min", [](Descriptor& d) { d.options[1].int_min = 2000; },
       "options[1] 'interval_ms': int_min 2000 is greater than int_max 1000"},
      {"options[].int_default (range)", [](Descriptor& d) { d.options[1].int_default = 0; },
       "options[1] 'interval_ms': int_default 0 is outside its range 1 to 1000"},
      {"options[].string_default", [](Descriptor& d) { d.options[2].string_default = nullptr; },
       "options[2] 'method': string_default is missing (\"\" for none)"},
      {"options[].choices (empty)", [](Descriptor& d) { d.options[2].choices = kEmptyChoices; },
       "options[2] 'method': choices is empty (NULL allows any string)"},
      {"options[].string_default (choices)",
       [](Descriptor& d) { d.options[2].string_default = "slow"; },
       "options[2] 'method': string_default 'slow' is not among its choices (\"auto\", "
       "\"fast\")"},
      {"options[].choices (length)",
       [](Descriptor& d) { d.options[2].choices = kUnterminated.data(); },
       "options[2] 'method': choices has no NULL terminator within 256 entries"},
      {"options[].list_default (length)",
       [](Descriptor& d) { d.options[3].list_default = kUnterminated.data(); },
       "options[3] 'labels': list_default has no NULL terminator within 256 entries"},
      {"emits (probe, NULL)", [](Descriptor& d) { d.plugin.emits = nullptr; },
       "emits is missing (a probe declares the probe_source names it emits)"},
      {"emits (probe, empty)", [](Descriptor& d) { d.plugin.emits = kNoEmits; },
       "emits is empty (a probe declares the probe_source names it emits)"},
      {"emits (length)", [](Descriptor& d) { d.plugin.emits = kUnterminated.data(); },
       "emits has no NULL terminator within 256 entries"},
      {"emits[] name syntax", [](Descriptor& d) { d.plugin.emits = kBadName; },
       "emits[1] 'Demo-Started' is neither an event name (word.word: [a-z0-9_] words, at most 63 "
       "bytes) nor a pattern (word.*)"},
      {"emits[] pattern syntax", [](Descriptor& d) { d.plugin.emits = kBadPattern; },
       "emits[0] 'demo.*.x' is neither an event name (word.word: [a-z0-9_] words, at most 63 "
       "bytes) nor a pattern (word.*)"},
      {"emits[] one word", [](Descriptor& d) { d.plugin.emits = kBareWord; },
       "emits[0] 'demo' is neither an event name (word.word: [a-z0-9_] words, at most 63 "
       "bytes) nor a pattern (word.*)"},
      {"emits[] everything", [](Descriptor& d) { d.plugin.emits = kStar; },
       "emits[0] '*' is neither an event name (word.word: [a-z0-9_] words, at most 63 "
       "bytes) nor a pattern (word.*)"},
      {"emits[] agent.*", [](Descriptor& d) { d.plugin.emits = kAgent; },
       "emits[1] 'agent.started' belongs to the core (agent.* and telemetry.*)"},
      {"emits[] telemetry.*", [](Descriptor& d) { d.plugin.emits = kTelemetry; },
       "emits[0] 'telemetry.*' belongs to the core (agent.* and telemetry.*)"},
      {"emits[] unique", [](Descriptor& d) { d.plugin.emits = kTwice; },
       "emits[2] 'demo.a' is declared twice (also emits[0])"},
      {"emits (sink)",
       [](Descriptor& d) {
         d.plugin.kind = CT_KIND_SINK;
         d.plugin.consume = &fake_consume;
       },
       "emits is not empty (a sink emits no events; leave it NULL)"},
  };
}

TEST(DescriptorCheck, AValidDescriptorPasses) {
  Descriptor d;
  EXPECT_EQ(error_of(d), "");
}

TEST(DescriptorCheck, ASinkWithoutEmitsPasses) {
  for (const char* const* emits : {static_cast<const char* const*>(nullptr), kNoEmits}) {
    Descriptor d;
    d.plugin.kind = CT_KIND_SINK;
    d.plugin.consume = &fake_consume;
    d.plugin.emits = emits;
    EXPECT_EQ(error_of(d), "");
  }
}

TEST(DescriptorCheck, EachBrokenFieldIsNamed) {
  for (const auto& c : cases()) {
    Descriptor d;
    c.breaks(d);
    EXPECT_EQ(error_of(d), "/p/probe-demo.so: invalid descriptor: " + c.message) << c.field;
  }
}

// The real .so whose option table ends with {}: every path that reads descriptors refuses it
// with the field named, exit 78, instead of dying with SIGSEGV.
const char* const kSentinelError =
    "probe-sentinel.so: invalid descriptor: options[1]: key is missing (an empty {} entry "
    "ending the table? n_options counts every entry, so the table needs no terminator)";

std::string sentinel_config(const t::TempDir& dir) {
  return dir.write(
      "a.toml", "[[probes.sentinel]]\n[[sinks.capture]]\npath = \"" + dir.file("events") + "\"\n");
}

TEST(DescriptorCheckE2e, CheckConfigRefusesTheSentinelFixture) {
  t::TempDir dir;
  const auto o = t::run_agent(
      {"--config", sentinel_config(dir), "--plugin-dir", t::fixture_dir(), "--check-config"});
  EXPECT_EQ(o.exit_code, 78) << o.err;
  EXPECT_NE(o.err.find(t::fixture_dir() + "/" + kSentinelError), std::string::npos) << o.err;
}

TEST(DescriptorCheckE2e, ARealRunRefusesTheSentinelFixture) {
  t::TempDir dir;
  const auto o = t::run_agent({"--config", sentinel_config(dir), "--plugin-dir", t::fixture_dir()});
  EXPECT_EQ(o.exit_code, 78) << o.err;
  EXPECT_NE(o.err.find(t::fixture_dir() + "/" + kSentinelError), std::string::npos) << o.err;
}

TEST(DescriptorCheckE2e, OptionsMarkdownRefusesTheSentinelFixture) {
  const std::string so = t::fixture_dir() + "/probe-sentinel.so";
  const auto o = t::run_agent({"--options-markdown", so});
  EXPECT_EQ(o.exit_code, 78) << o.err;
  EXPECT_NE(o.err.find(t::fixture_dir() + "/" + kSentinelError), std::string::npos) << o.err;
  EXPECT_EQ(o.out, "");
}

TEST(DescriptorCheckE2e, HelpReportsTheSentinelFixtureAndListsTheOthers) {
  t::TempDir dir;
  for (const char* f : {"probe-sentinel.so", "probe-scripted.so"}) {
    std::filesystem::copy_file(t::fixture_dir() + "/" + f, dir.file(f));
  }
  const auto o = t::run_agent({"--help", "--plugin-dir", dir.path(), "--config", "/nonexistent"});
  EXPECT_EQ(o.exit_code, 78) << o.err;
  EXPECT_NE(o.err.find(dir.path() + "/" + kSentinelError), std::string::npos) << o.err;
  EXPECT_EQ(o.out.find("sentinel"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("probe scripted 0.1.0"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("--check-config"), std::string::npos) << o.out;
}

}  // namespace
