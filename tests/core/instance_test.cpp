// One instance driven in-process through a descriptor in memory (no dlopen): its states, its
// kind, and what the host functions do with a stopped or failed instance.
#include "instance.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bus.hpp"
#include "host_callbacks.hpp"

namespace ct = cellos::telemetry;

namespace {

// What the fake plugin saw and what it is told to do. One per test (reset in the fixture).
struct Script {
  const ct_host* host = nullptr;
  std::vector<std::string> calls;
  bool fail_stop = false;
};
Script script;

int fake_create(const ct_host* host, const ct_option_value*, uint32_t, void** instance, char*,
                size_t) {
  script.host = host;
  script.calls.push_back("create");
  *instance = &script;
  return 0;
}
void fake_destroy(void*) {
  script.calls.push_back("destroy");
}
int fake_start(void*, char*, size_t) {
  script.calls.push_back("start");
  return 0;
}
int fake_stop(void*, char* err, size_t size) {
  script.calls.push_back("stop");
  if (script.fail_stop) snprintf(err, size, "cannot stop");
  return script.fail_stop ? 1 : 0;
}
int fake_consume(void*, const ct_event* const*, size_t, size_t* accepted, char*, size_t) {
  script.calls.push_back("consume");
  *accepted = 0;  // full: keeps what is routed queued
  return 0;
}

const char* const kEmits[] = {"process.spawned", "fake.*", nullptr};

ct_plugin descriptor(ct_kind kind) {
  ct_plugin d{};
  d.struct_size = sizeof d;
  d.abi_major = CT_ABI_MAJOR;
  d.abi_minor = CT_ABI_MINOR;
  d.kind = kind;
  d.name = "fake";
  d.version = "1";
  d.create = fake_create;
  d.destroy = fake_destroy;
  d.start = fake_start;
  d.stop = fake_stop;
  d.consume = fake_consume;
  if (kind == CT_KIND_PROBE) d.emits = kEmits;
  return d;
}

class InstanceTest : public ::testing::Test {
 protected:
  void SetUp() override { script = Script{}; }

  // An instance of the fake plugin, configured in a section of that kind.
  std::unique_ptr<ct::Instance> make(ct_kind kind) {
    desc_ = descriptor(kind);
    ct::InstanceConfig ic;
    ic.kind = kind;
    ic.plugin = "fake";
    auto lib = std::make_shared<ct::PluginLibrary>("in-memory", ct::UniqueFd(),
                                                   boost::dll::shared_library(), &desc_);
    return std::make_unique<ct::Instance>(ic, lib, ct::OptionValues(), loop_, bus_, 0);
  }

  void emit(const char* source) {
    const ct_event e{sizeof(ct_event), source, 7, "worker", 1, nullptr, 0};
    script.host->emit(script.host->ctx, &e);
  }

  ct_plugin desc_{};
  ct::EventLoop loop_;
  ct::Bus bus_{ct::Bus::Origin{1, "agent"}};
};

// Records what the bus hands it.
class CountingSink : public ct::SinkEndpoint {
 public:
  std::optional<size_t> consume(std::span<const ct_event* const> events) override {
    taken += events.size();
    return events.size();
  }
  size_t taken = 0;
};

TEST_F(InstanceTest, CreateDoesNotStartAndStartIsItsOwnStep) {
  auto inst = make(CT_KIND_PROBE);
  EXPECT_EQ(inst->state, ct::InstanceState::loaded);
  inst->create();
  EXPECT_EQ(inst->state, ct::InstanceState::created);
  EXPECT_EQ(script.calls, (std::vector<std::string>{"create"}));
  inst->start();
  EXPECT_EQ(inst->state, ct::InstanceState::running);
  EXPECT_EQ(script.calls, (std::vector<std::string>{"create", "start"}));
  inst.reset();
  EXPECT_EQ(script.calls.back(), "destroy");
}

TEST_F(InstanceTest, ProbeEmitsAreRoutedUntilItIsStoppedThenIgnoredWithoutFailingIt) {
  CountingSink sink;
  bus_.add_sink(sink, {"*"}, 16);
  auto inst = make(CT_KIND_PROBE);
  inst->create();
  inst->start();
  emit("process.spawned");
  bus_.pump();
  EXPECT_EQ(sink.taken, 1u);
  inst->stop_probe();
  EXPECT_EQ(inst->state, ct::InstanceState::stopped);
  emit("process.spawned");
  bus_.pump();
  EXPECT_EQ(sink.taken, 1u);
  EXPECT_EQ(inst->state, ct::InstanceState::stopped);  // stopped is not failed
}

TEST_F(InstanceTest, ProbeWhoseStopFailsIsFailedNotStopped) {
  auto inst = make(CT_KIND_PROBE);
  inst->create();
  inst->start();
  script.fail_stop = true;
  inst->stop_probe();
  EXPECT_EQ(inst->state, ct::InstanceState::failed);
}

TEST_F(InstanceTest, ProbeBreakingTheEventContractIsFailedAndEmitsNothingMore) {
  CountingSink sink;
  bus_.add_sink(sink, {"*"}, 16);
  auto inst = make(CT_KIND_PROBE);
  inst->create();
  inst->start();
  emit("NotAWordDotWord");
  EXPECT_EQ(inst->state, ct::InstanceState::failed);
  emit("process.spawned");
  bus_.pump();
  EXPECT_EQ(sink.taken, 0u);
}

// A probe owns the names it declared: fake.* covers fake.anything, nothing covers process.exec
// (declared: process.spawned only) nor the core's telemetry.dropped. The first undeclared name
// disables it (the message is checked end to end, in agent_e2e_test.cpp).
TEST_F(InstanceTest, ProbeEmittingAnUndeclaredNameIsFailedAndEmitsNothingMore) {
  for (const char* undeclared : {"process.exec", "telemetry.dropped", "fakes.x", "fake.a"}) {
    CountingSink sink;
    ct::Bus bus{ct::Bus::Origin{1, "agent"}};
    bus.add_sink(sink, {"*"}, 16);
    desc_ = descriptor(CT_KIND_PROBE);
    ct::InstanceConfig ic;
    ic.kind = CT_KIND_PROBE;
    ic.plugin = "fake";
    auto lib = std::make_shared<ct::PluginLibrary>("in-memory", ct::UniqueFd(),
                                                   boost::dll::shared_library(), &desc_);
    ct::Instance inst(ic, lib, ct::OptionValues(), loop_, bus, 0);
    inst.create();
    inst.start();
    emit("process.spawned");
    emit("fake.anything");
    EXPECT_EQ(inst.state, ct::InstanceState::running);
    const std::string name = undeclared;
    if (name == "fake.a") {  // declared after all: the control case
      emit(undeclared);
      EXPECT_EQ(inst.state, ct::InstanceState::running);
      continue;
    }
    emit(undeclared);
    EXPECT_EQ(inst.state, ct::InstanceState::failed) << name;
    emit("process.spawned");
    bus.pump();
    EXPECT_EQ(sink.taken, 2u) << name;  // the two declared ones before it, nothing after
  }
}

// The kind is the config section's, recorded on the instance: a sink that emits is failed
// even before it has a queue on the bus.
TEST_F(InstanceTest, SinkThatEmitsIsFailedWhetherOrNotItHasAQueueYet) {
  auto inst = make(CT_KIND_SINK);
  EXPECT_EQ(inst->kind, CT_KIND_SINK);
  inst->create();
  emit("process.spawned");
  EXPECT_EQ(inst->state, ct::InstanceState::failed);
}

TEST_F(InstanceTest, FailedSinkIsRetiredFromTheBusWithWhatItHeld) {
  auto inst = make(CT_KIND_SINK);
  inst->sink_id = bus_.add_sink(*inst, {"*"}, 16);
  inst->create();
  inst->start();
  for (int i = 0; i < 3; ++i)
    bus_.route(ct_event{sizeof(ct_event), "process.spawned", 1, "x", 1, nullptr, 0});
  bus_.pump();  // the fake takes nothing: three stay queued
  ASSERT_EQ(bus_.queue(*inst->sink_id).size(), 3u);
  emit("process.spawned");
  EXPECT_EQ(inst->state, ct::InstanceState::failed);
  EXPECT_FALSE(bus_.in_service(*inst->sink_id));
  const ct::SinkQueue& q = bus_.queue(*inst->sink_id);
  EXPECT_EQ(q.total_drops(), 3u);
  EXPECT_EQ(q.total_pushed(), q.total_taken() + q.total_drops() + q.size());
}

TEST_F(InstanceTest, WakeFromAProbeIsIgnored) {
  CountingSink sink;
  bus_.add_sink(sink, {"*"}, 16);
  auto inst = make(CT_KIND_PROBE);
  inst->create();
  script.host->wake(script.host->ctx);  // must not touch sink 0, or anything
  EXPECT_EQ(inst->state, ct::InstanceState::created);
}

}  // namespace
