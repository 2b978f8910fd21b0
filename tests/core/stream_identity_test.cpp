// Issue 15: what agent.hello says about the agent: stream_id, boot_id, config_digest.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "config.hpp"
#include "config_digest.hpp"
#include "sha256.hpp"
#include "stream_identity.hpp"

namespace ct = cellos::telemetry;

namespace {

TEST(Sha256, KnownAnswers) {
  // FIPS 180-4 examples, and the one- and two-block padding edges (55 and 56 bytes).
  EXPECT_EQ(ct::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ct::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ct::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ct::sha256_hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(ct::sha256_hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(ct::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(StreamId, IsRandomAndNeverZero) {
  std::set<uint64_t> ids;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t id = ct::draw_stream_id();
    EXPECT_NE(id, 0u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(BootId, IsTheKernelsAndEmptyWhenUnreadable) {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string expected;
  std::getline(in, expected);
  EXPECT_EQ(ct::read_boot_id(), expected);
  EXPECT_EQ(expected.size(), 36u);
  EXPECT_EQ(ct::read_boot_id("/nonexistent/boot_id"), "");
}

// The digest of a config parsed from text, with the plugin options a fake table declares.
std::string canonical(const std::string& toml) {
  static const ct_option_spec kSpecs[] = {
      {"address", CT_OPT_STRING, "where", 0, 0, 0, "vsock://2:9001", nullptr, nullptr},
      {"buffer_bytes", CT_OPT_INT, "how much", 262144, 16384, 67108864, nullptr, nullptr, nullptr},
  };
  const ct::AgentConfig cfg = ct::parse_config(toml, "/etc/agent.toml");
  std::vector<ct::OptionValues> options;
  for (const auto& s : cfg.sinks) options.push_back(ct::validate_options(s, kSpecs, 2));
  std::vector<ct::DigestedInstance> instances;
  for (size_t i = 0; i < cfg.sinks.size(); ++i) instances.push_back({&cfg.sinks[i], &options[i]});
  return ct::canonical_config(cfg.agent, instances);
}

TEST(ConfigDigest, CanonicalFormHasEveryValueWithDefaultsAndNoFileDetail) {
  const std::string c = canonical("[[sinks.vsock]]\naddress = \"unix:/run/a \\\"b\\\"\"\n");
  EXPECT_EQ(c,
            "cellos-telemetry-config 1\n"
            "agent plugin_dir \"\"\n"
            "agent heartbeat_interval_ms 5000\n"
            "agent shutdown_timeout_ms 2000\n"
            "agent call_time_limit_ms 2000\n"
            "agent disable []\n"
            "sinks.vsock[0] address \"unix:/run/a \\\"b\\\"\"\n"
            "sinks.vsock[0] buffer_bytes 262144\n"
            "sinks.vsock[0] match [\"*\"]\n"
            "sinks.vsock[0] queue_capacity 65536\n");
}

TEST(ConfigDigest, SameConfigurationSameDigestWhateverTheSpelling) {
  const std::string a = canonical("[[sinks.vsock]]\naddress = \"unix:/a\"\n");
  const std::string b = canonical(
      "# a comment\n[agent]\nheartbeat_interval_ms = 5000   # the default, spelled out\n\n"
      "[[sinks.vsock]]\n  buffer_bytes = 262144\n  address = 'unix:/a'\n");
  EXPECT_EQ(a, b);
  const std::string c = canonical("[[sinks.vsock]]\naddress = \"unix:/a\"\nbuffer_bytes = 16384\n");
  EXPECT_NE(ct::sha256_hex(a), ct::sha256_hex(c));
  const std::string d =
      canonical("[[sinks.vsock]]\naddress = \"unix:/a\"\nmatch = ['process.*']\n");
  EXPECT_NE(ct::sha256_hex(a), ct::sha256_hex(d));
}

}  // namespace
