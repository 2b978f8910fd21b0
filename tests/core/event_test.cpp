// The bus's event contract (check_event), the core's owned copy (own_event, EventView) and the
// SDK's EventBuilder, for typed extras (ABI 2).
#include "event.hpp"

#include <cellos/telemetry/sdk.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace ct = cellos::telemetry;

namespace {

ct_event with(const ct_extra* x, uint32_t n) {
  return ct::make_event("process.exec", 1, "sh", 0, x, n);
}

std::string check(const ct_extra* x, uint32_t n) {
  return ct::check_event(with(x, n));
}

ct_extra typed(const char* key, uint32_t type) {
  return ct_extra{key, {type, 0, {}}};
}

TEST(CheckEvent, AcceptsEveryTypeWithinTheLimits) {
  ct::EventBuilder b("process.exec", 1, "sh", 0);
  const std::vector<std::string> argv(CT_MAX_LIST_ITEMS, "x");
  b.u("u", 1)
      .i("i", -1)
      .b("b", true)
      .text("t", std::string(CT_MAX_TEXT_BYTES, 'a'))
      .list("l", argv);
  EXPECT_EQ(ct::check_event(b.event()), "");
}

TEST(CheckEvent, AtMostThirtyTwoExtras) {
  std::vector<std::string> keys;
  for (int i = 0; i <= CT_MAX_EXTRAS; ++i) keys.push_back("k" + std::to_string(i));
  std::vector<ct_extra> x;
  for (const auto& k : keys) x.push_back(ct::uint_extra(k.c_str(), 1));
  EXPECT_EQ(check(x.data(), CT_MAX_EXTRAS), "");
  EXPECT_EQ(check(x.data(), CT_MAX_EXTRAS + 1), "33 extra keys (at most 32)");
}

TEST(CheckEvent, KeysAreWordsNotWireKeysNotReservedNotRepeated) {
  for (const char* bad : {"", "Upper", "a-b", "guest_pid", "content_version", "extras_truncated",
                          "a23456789012345678901234567890123"}) {
    const ct_extra x = ct::uint_extra(bad, 1);
    EXPECT_EQ(check(&x, 1), "extra key '" + std::string(bad) + "' is not allowed") << bad;
  }
  const ct_extra twice[] = {ct::uint_extra("a", 1), ct::text_extra("a", "x")};
  EXPECT_EQ(check(twice, 2), "extra key 'a' is repeated");
}

// Issue 15: seq is the sinks' (a frame's number in its stream); a probe's would be a lie.
TEST(CheckEvent, SeqIsTheSinksKey) {
  const ct_extra x = ct::uint_extra("seq", 1);
  EXPECT_EQ(check(&x, 1), "extra key 'seq' is not allowed");
}

TEST(CheckEvent, UnknownTypesAndNonNegativeNegintsAreRefused) {
  const ct_extra unknown = typed("k", 6);
  EXPECT_EQ(check(&unknown, 1), "extra 'k': unknown value type 6");
  ct_extra zero = typed("k", CT_VALUE_NEGINT);
  zero.value.as.i = 0;
  EXPECT_EQ(check(&zero, 1), "extra 'k': negative integer 0 is not negative (use CT_VALUE_UINT)");
}

TEST(CheckEvent, TextAndListsAreBounded) {
  const std::string long_text(CT_MAX_TEXT_BYTES + 1, 'a');
  const ct_extra t = ct::text_extra("k", long_text);
  EXPECT_EQ(check(&t, 1), "extra 'k': text of 1025 bytes (at most 1024)");
  ct_extra null_text = typed("k", CT_VALUE_TEXT);
  null_text.value.as.text.len = 3;
  EXPECT_EQ(check(&null_text, 1), "extra 'k': null text");

  const std::vector<ct_text> items(CT_MAX_LIST_ITEMS + 1, ct_text{"a", 1});
  ct_extra l = typed("k", CT_VALUE_TEXT_LIST);
  l.value.as.list = ct_text_list{items.data(), CT_MAX_LIST_ITEMS + 1};
  EXPECT_EQ(check(&l, 1), "extra 'k': list of 257 items (at most 256)");
  const std::vector<ct_text> one_long = {ct_text{long_text.data(), CT_MAX_TEXT_BYTES + 1}};
  l.value.as.list = ct_text_list{one_long.data(), 1};
  EXPECT_EQ(check(&l, 1), "extra 'k': list item of 1025 bytes (at most 1024)");
  l.value.as.list = ct_text_list{nullptr, 2};
  EXPECT_EQ(check(&l, 1), "extra 'k': null list");

  // 17 texts of 1 KiB: each allowed, together over the event's 16 KiB.
  std::vector<std::string> keys;
  for (int i = 0; i < 17; ++i) keys.push_back("t" + std::to_string(i));
  const std::string kib(1024, 'a');
  std::vector<ct_extra> x;
  for (const auto& k : keys) x.push_back(ct::text_extra(k.c_str(), kib));
  EXPECT_EQ(check(x.data(), 16), "");
  EXPECT_EQ(check(x.data(), 17), "extras hold 17408 bytes of text (at most 16384)");
}

TEST(CheckEvent, StructSizeOfAnAbiTwoEvent) {
  ct_event e = ct::make_event("process.exec", 1, "sh", 0);
  e.struct_size = 8;
  EXPECT_EQ(ct::check_event(e).rfind("event struct_size 8", 0), 0u);
}

// Each limit of check_event at its bound (accepted) and one past it (refused), beside the
// tests above that cover only the refusal.
TEST(CheckEvent, StructSizeAtLeastTheTwoZeroEvent) {
  ct_event e = ct::make_event("process.exec", 1, "sh", 0);
  e.struct_size = CT_EVENT_SIZE_2_0;
  EXPECT_EQ(ct::check_event(e), "");
  e.struct_size = CT_EVENT_SIZE_2_0 - 1;
  EXPECT_EQ(ct::check_event(e), "event struct_size " + std::to_string(CT_EVENT_SIZE_2_0 - 1) +
                                    " (an ABI 2 event has at least " +
                                    std::to_string(CT_EVENT_SIZE_2_0) + ")");
}

TEST(CheckEvent, ProbeSourceOfSixtyThreeBytesOfDottedWords) {
  const std::string at = "p." + std::string(61, 'a');
  ASSERT_EQ(at.size(), 63u);
  EXPECT_EQ(ct::check_event(ct::make_event(at.c_str(), 1, "sh", 0)), "");
  const std::string past = at + "a";
  EXPECT_EQ(ct::check_event(ct::make_event(past.c_str(), 1, "sh", 0)),
            "probe_source '" + past +
                "' is not of the form word.word (lower-case, digits, '_', at most 63 bytes)");
  EXPECT_EQ(ct::check_event(ct::make_event("a_1.b2.c_", 1, "sh", 0)), "");
  for (const char* bad : {"", "process", ".exec", "process.", "a..b", "Process.exec",
                          "pro-cess.exec", "process.exec.", "process exec"}) {
    EXPECT_EQ(ct::check_event(ct::make_event(bad, 1, "sh", 0)),
              "probe_source '" + std::string(bad) +
                  "' is not of the form word.word (lower-case, digits, '_', at most 63 bytes)")
        << bad;
  }
  ct_event e = ct::make_event("process.exec", 1, "sh", 0);
  e.probe_source = nullptr;
  EXPECT_EQ(ct::check_event(e), "event without probe_source");
}

TEST(CheckEvent, GuestCommOfFifteenBytes) {
  const std::string at(15, 'c');
  EXPECT_EQ(ct::check_event(ct::make_event("process.exec", 1, at.c_str(), 0)), "");
  const std::string past(16, 'c');
  EXPECT_EQ(ct::check_event(ct::make_event("process.exec", 1, past.c_str(), 0)),
            "guest_comm of 16 bytes (the kernel's comm is at most 15)");
}

TEST(CheckEvent, KeysOfThirtyTwoWordCharacters) {
  const std::string at = "a_9" + std::string(29, 'z');
  ASSERT_EQ(at.size(), 32u);
  const ct_extra ok = ct::uint_extra(at.c_str(), 1);
  EXPECT_EQ(check(&ok, 1), "");
  const std::string past = at + "z";
  const ct_extra over = ct::uint_extra(past.c_str(), 1);
  EXPECT_EQ(check(&over, 1), "extra key '" + past + "' is not allowed");
  for (const char* wire : {"probe_source", "guest_comm", "guest_monotonic_ns"}) {
    const ct_extra x = ct::uint_extra(wire, 1);
    EXPECT_EQ(check(&x, 1), "extra key '" + std::string(wire) + "' is not allowed") << wire;
  }
  ct_extra null_key = ct::uint_extra("k", 1);
  null_key.key = nullptr;
  EXPECT_EQ(check(&null_key, 1), "extra key '' is not allowed");
}

TEST(CheckEvent, ExtrasPointerWithACount) {
  EXPECT_EQ(check(nullptr, 0), "");
  EXPECT_EQ(check(nullptr, 1), "1 extra keys (at most 32)");
}

TEST(CheckEvent, ListItemsAtTheTextLimitAndEmptyValues) {
  const std::string at(CT_MAX_TEXT_BYTES, 'a');
  const std::vector<ct_text> items = {ct_text{at.data(), CT_MAX_TEXT_BYTES}};
  ct_extra l = typed("k", CT_VALUE_TEXT_LIST);
  l.value.as.list = ct_text_list{items.data(), 1};
  EXPECT_EQ(check(&l, 1), "");
  // Nothing to read, nothing to point at: an empty text or list may carry a null pointer.
  l.value.as.list = ct_text_list{nullptr, 0};
  EXPECT_EQ(check(&l, 1), "");
  const ct_extra empty_text = typed("t", CT_VALUE_TEXT);
  EXPECT_EQ(check(&empty_text, 1), "");
  ct_extra null_item = typed("k", CT_VALUE_TEXT_LIST);
  const std::vector<ct_text> null_items = {ct_text{nullptr, 1}};
  null_item.value.as.list = ct_text_list{null_items.data(), 1};
  EXPECT_EQ(check(&null_item, 1), "extra 'k': null list item");
}

TEST(CheckEvent, NegativeIntegersDownToInt64Min) {
  ct_extra x = typed("k", CT_VALUE_NEGINT);
  x.value.as.i = -1;
  EXPECT_EQ(check(&x, 1), "");
  x.value.as.i = INT64_MIN;
  EXPECT_EQ(check(&x, 1), "");
  x.value.as.i = 1;
  EXPECT_EQ(check(&x, 1), "extra 'k': negative integer 1 is not negative (use CT_VALUE_UINT)");
}

TEST(CheckEvent, ListItemsCountTowardsTheEventsTextTotal) {
  // 15 texts of 1 KiB and a list of one 1 KiB item: exactly 16 KiB; one more byte is over.
  std::vector<std::string> keys;
  for (int i = 0; i < 15; ++i) keys.push_back("t" + std::to_string(i));
  const std::string kib(1024, 'a');
  std::vector<ct_extra> x;
  for (const auto& k : keys) x.push_back(ct::text_extra(k.c_str(), kib));
  const std::vector<ct_text> items = {ct_text{kib.data(), 1024}, ct_text{"b", 1}};
  ct_extra l = typed("l", CT_VALUE_TEXT_LIST);
  l.value.as.list = ct_text_list{items.data(), 1};
  x.push_back(l);
  EXPECT_EQ(check(x.data(), 16), "");
  x.back().value.as.list.n = 2;
  EXPECT_EQ(check(x.data(), 16), "extras hold 16385 bytes of text (at most 16384)");
}

TEST(OwnEvent, CopiesEveryTypeAndRepairsText) {
  ct::EventBuilder b("process.exec", 7, "sh", 9);
  b.u("u", UINT64_MAX).i("i", INT64_MIN).b("b", true).b("f", false);
  b.text("t", "a\xFF").list("l", {"x", "\xC3", ""}).list("e", std::vector<std::string>{});
  ct::OwnedEvent o = ct::own_event(b.event());
  b.reset("other.event", 1, "x", 0).u("z", 0);  // the copy owns everything
  const ct::OwnedEvent moved = std::move(o);
  ct::EventView v;
  v.point_at(moved);
  const ct_event& e = v.event;
  EXPECT_EQ(e.struct_size, sizeof(ct_event));
  ASSERT_EQ(e.n_extras, 7u);
  EXPECT_STREQ(e.extras[0].key, "u");
  EXPECT_EQ(e.extras[0].value.as.u, UINT64_MAX);
  EXPECT_EQ(e.extras[1].value.type, static_cast<uint32_t>(CT_VALUE_NEGINT));
  EXPECT_EQ(e.extras[1].value.as.i, INT64_MIN);
  EXPECT_EQ(e.extras[2].value.as.b, 1);
  EXPECT_EQ(e.extras[3].value.as.b, 0);
  EXPECT_EQ(ct::text_view(e.extras[4].value.as.text), "a\xEF\xBF\xBD");
  ASSERT_EQ(e.extras[5].value.as.list.n, 3u);
  EXPECT_EQ(ct::text_view(e.extras[5].value.as.list.items[0]), "x");
  EXPECT_EQ(ct::text_view(e.extras[5].value.as.list.items[1]), "\xEF\xBF\xBD");
  EXPECT_EQ(ct::text_view(e.extras[5].value.as.list.items[2]), "");
  EXPECT_STREQ(e.extras[6].key, "e");
  EXPECT_EQ(e.extras[6].value.as.list.n, 0u);
}

TEST(OwnEvent, WithoutExtrasAllocatesNoExtraStorage) {
  const ct::OwnedEvent o = ct::own_event(ct::make_event("process.exec", 1, "sh", 0));
  EXPECT_EQ(o.extras, nullptr);
  EXPECT_EQ(o.n_extras(), 0u);
  ct::EventView v;
  v.point_at(o);
  EXPECT_EQ(v.event.extras, nullptr);
  EXPECT_EQ(v.event.n_extras, 0u);
}

// Routing copies an event per matching sink: the copies share one store of extras, and the
// core's own additions (dropped_count) never change what another copy sees.
TEST(OwnEvent, CopiesShareTheirExtrasAndAddingCopiesOnWrite) {
  ct::EventBuilder b("process.exec", 1, "sh", 0);
  b.text("cwd", "/");
  const ct::OwnedEvent a = ct::own_event(b.event());
  ct::OwnedEvent copy = a;
  EXPECT_EQ(copy.extras.get(), a.extras.get());
  copy.add_uint("n", 3);
  EXPECT_NE(copy.extras.get(), a.extras.get());
  EXPECT_EQ(a.n_extras(), 1u);
  EXPECT_EQ(copy.n_extras(), 2u);
  ct::EventView v;
  v.point_at(copy);
  EXPECT_EQ(ct::text_view(v.event.extras[0].value.as.text), "/");
  EXPECT_STREQ(v.event.extras[1].key, "n");
  EXPECT_EQ(v.event.extras[1].value.as.u, 3u);
}

TEST(EventBuilder, IntegersPickTheirWireType) {
  ct::EventBuilder b("a.b", 1, "", 0);
  b.i("neg", -3).i("zero", 0).i("pos", 5);
  const ct_event& e = b.event();
  ASSERT_EQ(e.n_extras, 3u);
  EXPECT_EQ(e.extras[0].value.type, static_cast<uint32_t>(CT_VALUE_NEGINT));
  EXPECT_EQ(e.extras[0].value.as.i, -3);
  EXPECT_EQ(e.extras[1].value.type, static_cast<uint32_t>(CT_VALUE_UINT));
  EXPECT_EQ(e.extras[2].value.as.u, 5u);
}

TEST(EventBuilder, KeepsCopiesUntilEmitted) {
  ct::EventBuilder b;
  {
    std::string source = "a.b", comm = "c", key = "k", text = "v";
    std::vector<std::string> items = {"x", "y"};
    b.reset(source, 1, comm, 2).text(key, text).list("l", items);
    source.assign(100, 'z');
    text.assign(100, 'z');
    items.assign(3, std::string(100, 'z'));
  }
  // Many more extras: the pool reallocates; the view must still point at the right bytes.
  for (int i = 0; i < 20; ++i) b.text("t" + std::to_string(i), std::string(200, 'q'));
  const ct_event& e = b.event();
  EXPECT_STREQ(e.probe_source, "a.b");
  EXPECT_STREQ(e.guest_comm, "c");
  EXPECT_STREQ(e.extras[0].key, "k");
  EXPECT_EQ(ct::text_view(e.extras[0].value.as.text), "v");
  EXPECT_EQ(ct::text_view(e.extras[1].value.as.list.items[1]), "y");
  EXPECT_EQ(ct::check_event(e), "");
}

// host_emit takes the inline check for events without extras and the full one for the rest:
// the two must agree on every event the inline one passes, and it must pass every event without
// extras the full one passes (else the fast path would be dead, not wrong).
TEST(CheckEvent, InlineCheckOfEventsWithoutExtrasAgreesWithTheFullOne) {
  const std::string c15(15, 'c'), c16(16, 'c');
  const ct_extra one = ct::uint_extra("n", 1);
  std::vector<ct_event> events;
  for (const char* comm :
       {static_cast<const char*>(nullptr), "", "sh", c15.c_str(), c16.c_str(), "bad\xff"}) {
    events.push_back(ct::make_event("a.b", 1, comm, 2));
    events.push_back(ct::make_event("a.b", 1, comm, 2, &one, 1));
    ct_event old = ct::make_event("a.b", 1, comm, 2);
    old.struct_size = CT_EVENT_SIZE_2_0 - 1;
    events.push_back(old);
  }
  ct_event counted = ct::make_event("a.b", 1, "sh", 2);
  counted.n_extras = 1;  // and no extras pointer
  events.push_back(counted);
  for (const ct_event& e : events) {
    size_t comm_len = 99;
    const bool passes = ct::passes_without_extras(e, &comm_len);
    const std::string why = ct::check_event_after_source(e);
    if (passes) {
      EXPECT_EQ(why, "");
      EXPECT_EQ(comm_len, e.guest_comm ? std::strlen(e.guest_comm) : 0);
    } else if (e.n_extras == 0 && e.struct_size >= CT_EVENT_SIZE_2_0) {
      EXPECT_NE(why, "") << (e.guest_comm ? e.guest_comm : "(null)");
    }
  }
  size_t n = 0;
  EXPECT_TRUE(ct::passes_without_extras(ct::make_event("a.b", 1, c15.c_str(), 2), &n));
  EXPECT_EQ(n, 15u);
  EXPECT_FALSE(ct::passes_without_extras(ct::make_event("a.b", 1, c16.c_str(), 2), &n));
}

}  // namespace
