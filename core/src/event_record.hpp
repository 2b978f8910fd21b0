#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cellos::telemetry {

// An event as a sink queue keeps it: one block of memory holding the ct_event a sink is handed,
// its ct_extra and ct_text arrays and every string, the event's pointers pointing into the block
// itself. So a queued event costs its own bytes and nothing else (no heap node, no string
// objects), and handing it to a sink is handing out a pointer: nothing is rebuilt per batch.
//
// Layout, every part 8-byte aligned: RecordHeader, ct_extra[n_extras], ct_text[n_texts] (the
// items of every text list, in order), then the strings (probe_source, comm, keys, NUL-terminated;
// texts as given). A record moved elsewhere is fixed up by relocate_record.
struct RecordHeader {
  uint32_t size = 0;     // of the whole record, a multiple of 8
  uint32_t n_texts = 0;  // entries in the ct_text array (list items)
  ct_event event{};
};

// Builds records, either in a buffer of its own (reused: once it has grown, building allocates
// nothing) or, measured first, straight where they will be kept (a sink queue's ring: one copy
// of the event, not two). comm and every text are validated once, while measuring, and
// repaired to valid UTF-8 while writing if they need it; the event must have passed check_event
// (its limits bound the record: at most 32 extras, 16 KiB of text before repair).
// The strlen of an event's probe_source and guest_comm (0 for NULL), where the caller has them
// already (host_emit, from its checks), so that building the record measures neither again.
struct TextLengths {
  size_t source = 0, comm = 0;
};

class RecordBuilder {
 public:
  // The record of e, valid until the next build.
  const RecordHeader& build(const ct_event& e);
  // The exact size of e's record (a multiple of 8); then write(e, dst) writes it at dst
  // (8-byte aligned, that many bytes), e unchanged in between.
  size_t measure(const ct_event& e, const TextLengths* known = nullptr);
  const RecordHeader& write(const ct_event& e, void* dst) const;

 private:
  std::vector<uint64_t> buf_;  // uint64_t: the record's 8-byte alignment
  // From measure, for write: array sizes, and whether any text needs repair (rare: then write
  // validates each again to know which).
  uint32_t n_extras_ = 0, n_texts_ = 0;
  bool repair_ = false;
  size_t size_ = 0, source_len_ = 0, comm_len_ = 0;
};

// The record of an event without extras whose texts' lengths are known and whose comm is ASCII
// (nearly every event): its size, then write_plain_record writes it, the same bytes as
// RecordBuilder's measure and write, without their walk over extras and repair: those two
// calls were 160 of the 700 instructions the agent spends on an event (callgrind,
// bench/throughput).
inline size_t plain_record_size(const TextLengths& known) {
  return (sizeof(RecordHeader) + known.source + 1 + known.comm + 1 + 7) & ~size_t{7};
}
// e has no extras (extras NULL or n_extras 0) and an ASCII comm of known.comm bytes; dst holds
// `size` (plain_record_size) bytes, 8-byte aligned.
const RecordHeader& write_plain_record(const ct_event& e, const TextLengths& known, size_t size,
                                       void* dst);

// Copies a record of r.size bytes to dst (8-byte aligned) and points its pointers there.
const RecordHeader& copy_record(const RecordHeader& r, void* dst);

}  // namespace cellos::telemetry
