// One VM's JSON lines in --out-dir: DIR/LABEL.jsonl, what a log shipper (Fluent Bit's tail,
// Vector's file source, an OpenTelemetry collector's filelog receiver) follows with nothing
// but a path such as DIR/*.jsonl.
//
// No torn lines: the receiver hands over whole lines only, written with O_APPEND; a write cut
// short (disk full) is cut back to the last whole line before the error is reported. A SIGKILL
// cannot be excluded from user space: the kernel may stop a write to a regular file at a page
// boundary when a fatal signal is pending, leaving the start of a line without its newline. A
// shipper holds such a piece (it emits a line only at its newline), and the next receiver to
// open the file removes it before writing anything, and says so; the frame was not consumed,
// so its agent sends it again.
//
// Rotation by rename, as shippers expect: when a batch would take the file past rotate_bytes,
// LABEL.jsonl.(K-1) becomes .K, ..., LABEL.jsonl becomes LABEL.jsonl.1, and a new LABEL.jsonl
// is started; at most `keep` rotated files are kept (the oldest is replaced by the rename).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cellos::telemetry::recv {

class VmFile {
 public:
  // Opens (creating, mode 0640) dir/label.jsonl, removes a torn last line, and finds the last
  // stream_id and seq written. Throws std::runtime_error naming the file.
  VmFile(const std::string& dir, const std::string& label, uint64_t rotate_bytes, unsigned keep);
  ~VmFile();
  VmFile(const VmFile&) = delete;
  VmFile& operator=(const VmFile&) = delete;

  // Appends whole lines, rotating first if they would take the file past rotate_bytes (a
  // batch bigger than that goes whole into a fresh file). Throws std::runtime_error naming
  // the file, after cutting back what was written of them.
  void append(std::string_view lines);

  const std::string& path() const { return path_; }
  size_t repaired_bytes() const { return repaired_; }  // of a torn line removed at open
  // The last line written with both a stream_id and a seq (in this file, or in .1 when this
  // one is empty): where an earlier run left the VM's stream.
  std::optional<std::pair<uint64_t, uint64_t>> last_seq() const { return last_seq_; }

 private:
  void open_current();
  void rotate();

  std::string path_;
  uint64_t rotate_bytes_;
  unsigned keep_;
  int fd_ = -1;
  uint64_t size_ = 0;
  size_t repaired_ = 0;
  std::optional<std::pair<uint64_t, uint64_t>> last_seq_;
};

// The stream_id and seq of the last line in text that has both (the receiver writes
// "stream_id" and "seq" as top-level numbers; inside a JSON string a quote is escaped, so
// `"seq":` cannot occur there).
std::optional<std::pair<uint64_t, uint64_t>> last_stream_seq(std::string_view text);

}  // namespace cellos::telemetry::recv
