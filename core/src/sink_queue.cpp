#include "sink_queue.hpp"

#include <fnmatch.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cellos/telemetry/text.hpp>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace cellos::telemetry {

SourceMatcher::SourceMatcher(std::vector<std::string> globs) : globs_(std::move(globs)) {
  all_ = std::find(globs_.begin(), globs_.end(), "*") != globs_.end();
}

bool SourceMatcher::matches_a_glob(const char* source) const {
  return std::any_of(globs_.begin(), globs_.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), source, 0) == 0; });
}

namespace {

size_t page_size() {
  static const auto size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

SinkQueue::SinkQueue(size_t capacity, size_t capacity_bytes)
    : capacity_(capacity), ring_size_(round_up(std::max<size_t>(capacity_bytes, 1), page_size())) {
  // Address space only: a page becomes resident when a record is first written to it.
  void* p = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "sink queue");
  ring_ = static_cast<char*>(p);
}

SinkQueue::~SinkQueue() {
  munmap(ring_, ring_size_);
}

const RecordHeader& SinkQueue::record_at(size_t offset) const {
  return *reinterpret_cast<const RecordHeader*>(ring_ + offset);
}

const RecordHeader* SinkQueue::push(const ct_event& e) {
  return push(e, builder_);
}

const RecordHeader* SinkQueue::push(const ct_event& e, RecordBuilder& builder,
                                    const TextLengths* known) {
  // The common event: its size from the lengths known, no walk over extras.
  if (known != nullptr && (e.extras == nullptr || e.n_extras == 0) &&
      is_ascii({e.guest_comm ? e.guest_comm : "", known->comm})) {
    const size_t size = plain_record_size(*known);
    char* const dst = make_room(size);
    return dst ? &write_plain_record(e, *known, size, dst) : nullptr;
  }
  // Measured, then written straight into the ring: the event is copied once.
  char* const dst = make_room(builder.measure(e, known));
  return dst ? &builder.write(e, dst) : nullptr;
}

void SinkQueue::push(const OwnedEvent& e) {
  EventView v;
  v.point_at(e);
  push(v.event);
}

const RecordHeader* SinkQueue::push(const RecordHeader& record) {
  char* const dst = make_room(record.size);
  return dst ? &copy_record(record, dst) : nullptr;
}

char* SinkQueue::make_room(size_t size) {
  ++total_pushed_;
  if (capacity_ == 0 || size > ring_size_) {
    ++unreported_drops_;
    ++total_drops_;
    return nullptr;
  }
  while (count_ >= capacity_) drop_front();
  size_t offset = 0;
  // Ends: an empty ring is reset to its start, where any record up to its size fits.
  while (!place(size, &offset)) drop_front();
  ++count_;
  touched_ = std::max(touched_, offset + size);
  return ring_ + offset;
}

bool SinkQueue::place(size_t size, size_t* offset) {
  if (wrapped_) {
    if (head_ - tail_ < size) return false;
  } else if (ring_size_ - tail_ < size) {
    if (head_ < size) return false;
    // The record does not fit at the end: the ring wraps, the end stays unused until the
    // records before it go.
    wrapped_ = true;
    end_ = tail_;
    tail_ = 0;
  }
  *offset = tail_;
  tail_ += size;
  if (!wrapped_) end_ = tail_;
  return true;
}

void SinkQueue::wrap_head() {
  head_ = 0;
  wrapped_ = false;
  end_ = tail_;
}

void SinkQueue::advance_head(size_t bytes) {
  head_ += bytes;
  if (wrapped_ && head_ == end_) wrap_head();
}

void SinkQueue::pop_front() {
  walk_.valid = false;
  advance_head(record_at(head_).size);
  --count_;
  reset_if_empty();
}

void SinkQueue::drop_front() {
  pop_front();
  ++unreported_drops_;
  ++total_drops_;
}

void SinkQueue::reset_if_empty() {
  if (count_ != 0) return;
  head_ = tail_ = end_ = 0;
  wrapped_ = false;
  // A backlog has drained: its pages go back to the system now, not when the allocator sees
  // fit (the old deque's never did). A sink that keeps up writes only the first few pages.
  // Only a backlog well beyond them: a sink that keeps up with bursts a little larger than the
  // kept pages would otherwise fault them in again (zeroed) after every burst.
  if (touched_ > kGiveBackAboveBytes) {
    const size_t keep = std::min(round_up(kKeepBytes, page_size()), ring_size_);
    madvise(ring_ + keep, round_up(touched_, page_size()) - keep, MADV_DONTNEED);
    touched_ = keep;
  }
}

const ct_event& SinkQueue::at(size_t i) const {
  size_t offset = head_;
  for (; i > 0; --i) {
    offset += record_at(offset).size;
    if (wrapped_ && offset == end_) offset = 0;
  }
  return record_at(offset).event;
}

size_t SinkQueue::front(std::span<const ct_event*> out) const {
  const size_t n = std::min(out.size(), count_);
  size_t offset = head_;
  bool passed_end = false;
  for (size_t i = 0; i < n; ++i) {
    const RecordHeader& r = record_at(offset);
    out[i] = &r.event;
    offset += r.size;
    if (wrapped_ && offset == end_) {
      offset = 0;
      passed_end = true;
    }
  }
  walk_ = Walk{n, offset, passed_end, true};
  return n;
}

void SinkQueue::pop(size_t n) {
  // pop_front n times, with its check for an empty queue once at the end; the records front()
  // just walked (the usual batch, a thousand of them) are not walked again.
  n = std::min(n, count_);
  total_taken_ += n;
  if (walk_.valid && walk_.n == n) {
    // As pop_front would have left it, passing the end where the walk did (a push since can
    // only have wrapped the ring after the walk's records, or added some after its end).
    if (walk_.passed_end) wrap_head();
    advance_head(walk_.offset - head_);
  } else {
    for (size_t i = 0; i < n; ++i) advance_head(record_at(head_).size);
  }
  walk_.valid = false;
  count_ -= n;
  reset_if_empty();
}

void SinkQueue::discard_all() {
  total_drops_ += count_;
  while (count_ > 0) pop_front();
}

}  // namespace cellos::telemetry
