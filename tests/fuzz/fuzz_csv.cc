// libFuzzer target: CSV parsing (csv.cc ParseCsv), what `mnr-client import`, `mnr-server countries
// import` and the release reader run on files they are given.
#include "mnr/csv.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto records = mnr::ParseCsv(mnr::fuzz::Bytes(data, size), "fuzz");
  // Every record written back with CsvLine reads back unchanged (csv.h's promise).
  if (records.ok()) {
    std::string text;
    for (const auto& r : *records) text += mnr::CsvLine(r.fields);
    auto again = mnr::ParseCsv(text, "fuzz");
    if (!again.ok() || again->size() != records->size()) __builtin_trap();
    for (std::size_t i = 0; i < records->size(); ++i) {
      if ((*again)[i].fields != (*records)[i].fields) __builtin_trap();
    }
  }
  return 0;
}
