#include "procfs_walker.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <system_error>

#include <cellos/telemetry/clock.hpp>
#include "proc_stat.hpp"
#include "process_id.hpp"

namespace cellos::telemetry::process {
namespace {

constexpr size_t kListingBufferBytes = 32 * 1024;

// A pid directory's name: digits only, no leading zero, fits in 32 bits.
bool parse_pid(const char* name, uint32_t& pid) {
  if (name[0] < '1' || name[0] > '9') return false;
  uint64_t v = 0;
  for (const char* c = name; *c; ++c) {
    if (*c < '0' || *c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(*c - '0');
    if (v > UINT32_MAX) return false;
  }
  pid = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

ProcfsWalker::ProcfsWalker(const std::string& proc_root, ProcessTable& table, StartClock clock)
    : root_(open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)),
      table_(table),
      clock_(clock),
      buf_(kListingBufferBytes / sizeof(uint64_t)) {
  if (!root_) throw std::system_error(errno, std::generic_category(), "cannot open " + proc_root);
}

int ProcfsWalker::list() {
  listing_.clear();
  // The directory stays open between sweeps; rewinding it is what rewinddir does.
  if (lseek(root_.get(), 0, SEEK_SET) < 0) return errno;
  char* const base = reinterpret_cast<char*>(buf_.data());
  while (true) {
    const ssize_t n = getdents64(root_.get(), base, buf_.size() * sizeof(uint64_t));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    for (ssize_t off = 0; off < n;) {
      const char* rec = base + off;
      uint64_t ino;
      unsigned short reclen;
      unsigned char type;
      std::memcpy(&ino, rec + offsetof(dirent64, d_ino), sizeof ino);
      std::memcpy(&reclen, rec + offsetof(dirent64, d_reclen), sizeof reclen);
      std::memcpy(&type, rec + offsetof(dirent64, d_type), sizeof type);
      uint32_t pid;
      if ((type == DT_DIR || type == DT_UNKNOWN) &&
          parse_pid(rec + offsetof(dirent64, d_name), pid)) {
        listing_.push_back(Listed{pid, ino});
      }
      off += reclen;
    }
  }
}

uint64_t ProcfsWalker::parent_id(uint32_t ppid, uint64_t child_start) {
  if (ppid == 0) return 0;  // a root of the kernel's own: no parent process
  if (const ProcessEntry* parent = table_.find(ppid)) {
    if (parent->start_time != kStartNotSeen && parent->start_time != 0) return parent->process_id;
  }
  // Listed after its child, or not remembered. A parent started before its child; a later
  // holder of its pid (the parent died and the child was re-parented in between) after it.
  const auto st = read_process_stat(root_.get(), ppid);
  if (!st || st->start_time > child_start) return 0;
  return make_process_id(ppid, st->start_time);
}

ProcfsWalker::Result ProcfsWalker::sweep(Reporter& out, bool report, bool initial) {
  Result r;
  r.error = list();
  if (r.error != 0) return r;  // a partial listing would make live processes look exited
  r.listed = listing_.size();
  const uint32_t gen = ++generation_;
  const uint64_t read_from = monotonic_ns();  // every name below is read after this

  for (const Listed& l : listing_) {
    ProcessEntry* known = table_.find(l.pid);
    if (known && known->dir_ino == l.ino) {
      known->sweep = gen;
      continue;
    }
    ++r.stat_reads;
    // A process to report with its context: stat and context through one open /proc/PID, so
    // all of it is about the process whose start time is read (exec_context_reader.hpp).
    const bool with_context = report && context_reader_ != nullptr;
    UniqueFd dir;
    std::optional<ProcessStat> st;
    if (with_context) {
      dir = open_pid_dir(root_.get(), l.pid);
      if (dir) st = read_stat_at(dir.get());
    } else {
      st = read_process_stat(root_.get(), l.pid);
    }
    if (!st) continue;  // gone since the listing; if known, the pass below reports the exit
    if (known) {
      // A process the netlink tracker could not read at its fork (kStartNotSeen) took its id
      // from the fork's tick: listed now with that very start tick, it is the same process (the
      // same process_id could not name two), not a reuse to report as an exit and a spawn.
      const bool same_id = known->start_time == kStartNotSeen &&
                           known->process_id == make_process_id(l.pid, st->start_time);
      if (known->start_time == 0 || known->start_time == st->start_time || same_id) {
        // Same process under a re-created inode, or one netlink learnt without a listing.
        known->dir_ino = l.ino;
        known->start_time = st->start_time;
        known->sweep = gen;
        continue;
      }
      // The pid was reused: the process we knew is gone and this is another one.
      if (report) out.report(record_of(Change::kExited, l.pid, *known));
      ++r.exited;
    }
    // A zombie has exited already, its exit event sent before it was listed here: reported now
    // as new, nothing would ever report it gone once its parent reaps it.
    if (exit_events_ && st->state == 'Z') {
      if (known) table_.erase(l.pid);  // the holder before it, reported gone just above
      continue;
    }
    ProcessEntry fresh;
    fresh.comm = std::move(st->comm);
    fresh.name_ns = read_from;
    fresh.start_time = st->start_time;
    fresh.process_id = make_process_id(l.pid, st->start_time);
    fresh.start_ns = clock_.monotonic_of(st->start_time);
    fresh.dir_ino = l.ino;
    fresh.sweep = gen;
    fresh.announced = report;
    ProcessEntry* e = table_.insert(l.pid, std::move(fresh));
    if (e == nullptr) continue;  // table full: counted by the table, warned about by the probe
    if (report) {
      ProcessRecord rec = record_of(Change::kSpawned, l.pid, *e);
      rec.has_parent = st->ppid != 0;
      rec.ppid = st->ppid;
      rec.parent_id = parent_id(st->ppid, st->start_time);
      rec.start_ns = e->start_ns;
      rec.initial = initial;
      if (with_context) {
        // A kernel thread has no executable, arguments or working directory; a process gone
        // since the stat read has none left either. Only what was read is reported.
        context_reader_->read(dir.get(), context_);
        rec.context = &context_;
        // Its children run as it does (netlink_tracker.hpp: ids).
        if (context_.has_ids) {
          e->ids = context_.ids;
          e->ids_ns = read_from;
        }
      }
      out.report(rec);
    }
    ++r.spawned;
  }

  table_.erase_if([&](uint32_t pid, const ProcessEntry& e) {
    if (e.sweep == gen) return false;
    if (report) out.report(record_of(Change::kExited, pid, e));
    ++r.exited;
    return true;
  });
  return r;
}

}  // namespace cellos::telemetry::process
