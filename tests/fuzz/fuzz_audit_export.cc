// libFuzzer target: the audit-export reader (audit_format.cc), what `mnr-audit verify FILE` and
// `mnr-client audit export` run on a file from a server they need not trust: VerifyExport on the
// JSON (with a pinned tree head too), and the small readers of the same module on the raw bytes
// (receipts, change-set payloads, --tree-head, times).
#include <nlohmann/json.hpp>

#include "mnr/audit_format.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = mnr::fuzz::Bytes(data, size);
  const auto file = nlohmann::json::parse(text, nullptr, false);
  if (!file.is_discarded()) {
    auto summary = mnr::audit::VerifyExport(file);
    mnr::audit::VerifyOptions pinned;
    pinned.pins.push_back({2, std::string(64, '0')});
    (void)mnr::audit::VerifyExport(file, pinned);
    if (summary.ok()) (void)mnr::audit::VerifyExport(file, false);
  }
  (void)mnr::audit::DecodeReceipt(text);
  (void)mnr::audit::SplitChangeSetPayload(text);
  (void)mnr::audit::ParsePinnedTreeHead(text);
  (void)mnr::audit::ParseTime(text);
  return 0;
}
