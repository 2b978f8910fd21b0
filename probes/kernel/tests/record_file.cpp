#include "record_file.hpp"

#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace cellos::telemetry::kernel::testing {

std::vector<std::string> read_records(const std::string& name) {
  std::ifstream in(cellos::telemetry::testing::source_dir() + "/probes/kernel/tests/records/" +
                   name);
  std::vector<std::string> records;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == ' ' && !records.empty()) {
      records.back() += line + "\n";
    } else {
      records.push_back(line + "\n");
    }
  }
  return records;
}

Seen seen(const ct_event& e) {
  Seen s{e.probe_source, e.guest_pid, e.guest_comm, {}, {}};
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    const ct_extra& x = e.extras[i];
    std::string v;
    switch (x.value.type) {
      case CT_VALUE_UINT:
        v = std::to_string(x.value.as.u);
        break;
      case CT_VALUE_NEGINT:
        v = std::to_string(x.value.as.i);
        break;
      case CT_VALUE_BOOL:
        v = x.value.as.b ? "true" : "false";
        break;
      case CT_VALUE_TEXT:
        v = std::string(text_view(x.value.as.text));
        break;
      default:
        v = "(list)";
    }
    s.extras[x.key] = v;
    s.keys.push_back(x.key);
  }
  return s;
}

}  // namespace cellos::telemetry::kernel::testing
