// Inputs tools/fuzz.sh found (tests/fuzz), fed through the normal build: each once crashed a fuzz
// target or broke a round-trip the code promises, and must now be refused or read back unchanged.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "mnr/audit_format.h"
#include "mnr/changeset.h"
#include "mnr/csv.h"
#include "mnr/frame.h"
#include "mnr/limits.h"
#include "mnr/messages.h"

namespace mnr {
namespace {

std::string BytesFromHex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

}  // namespace

TEST_CASE("fuzz regression: a message or change-set whose optional flag byte is neither 0 nor 1 is refused, not read as a bool") {
  // fuzz_frame crash-79e6a342 and fuzz_changeset crash-dc2b7161: the byte cereal writes before an
  // optional value ("absent": 1, "present": 0) was copied into a bool whatever it held, which is
  // undefined behaviour; in practice a 2 read as "absent", so one change-set had several encodings
  // (and several ids). Here each input is a valid one with only that byte changed.
  PullChunk chunk;
  chunk.cursor = 7;
  chunk.fields.push_back(PulledField{"answer/Q01/c11_child_helpline", std::nullopt, "0000019a@dev", 42});
  std::string payload = EncodeMessage(chunk).substr(kFrameHeaderBytes);
  const std::string marker = "answer/Q01/c11_child_helpline";
  const std::size_t flag = payload.find(marker) + marker.size();
  REQUIRE(payload[flag] == 1);
  REQUIRE(DecodeMessage<PullChunk>(payload).ok());
  payload[flag] = 2;
  auto bad = DecodeMessage<PullChunk>(payload);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "malformed PullChunk message: a boolean byte is 2, not 0 or 1");

  ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = "dev";
  cs.credential_id = "cred-1";
  cs.seq = 1;
  cs.created = 5;
  Operation op;
  op.field = marker;
  op.new_value = "yes";
  op.hlc = 5;
  op.author = "dev";
  cs.ops = {op};
  std::string body = SerializeChangeSet(cs);
  const std::size_t old_value_flag = body.find(marker) + marker.size();
  REQUIRE(body[old_value_flag] == 1);
  REQUIRE(ParseChangeSet(body).ok());
  body[old_value_flag] = 2;
  auto parsed = ParseChangeSet(body);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().message().find("a boolean byte is 2, not 0 or 1") != std::string::npos);

  // The inputs the fuzzers saved are refused too.
  std::string_view frame_bytes;
  const std::string frame_input = BytesFromHex(
      "070000005e01070000000000000001000000000000001d00000000000000616e73117765722f5130312f6331315f6368696c645f68656c706c696e6500"
      "03000000000000007965730c000000000000003030303030313961406465762a00000000000000");
  frame_bytes = frame_input;
  auto frame = TakeFrame(frame_bytes, limits::kFrameBytes);
  REQUIRE(frame.ok());
  CHECK_FALSE(DecodeMessage<PullChunk>(frame->payload).ok());
  CHECK_FALSE(ParseChangeSet(BytesFromHex(
                  "01010000000100000008000000000000006465762d66757a7a1500000000000000637265642d303132333435363738396162636465660100000000"
                  "000000000000c02cc8990102000000000000001d00000000000000616e737765722f5130322f6331315f6368690000005130312f6331315f6368"
                  "696c645f68656c706c696e6501000300000000000000796573000000c02cc8990108000000000000006465762d66757a7a000000000000000015"
                  "0000000000000070726163746963652f5130312f70312f7469746c6500080000000000000048656c00c02cc8990108000000000000006465762d"
                  "66757a7a010000000000000019000000000000003031393963283263633030303030303040313939632832636330303030303030406465762d66"
                  "757a7a"))
                  .ok());
}

TEST_CASE("fuzz regression: a change-set in any encoding but its canonical one is refused, so one change-set has one id") {
  // fuzz_changeset crash-f04c4bc3 (mode 3): the stream's endianness byte is 0xdf. cereal read any
  // non-zero byte as "little-endian" (and 0 as big-endian, swapping every number), so the same
  // change-set parsed from several byte strings, each with its own id.
  const std::string crash = BytesFromHex(
      "df010000000100000008000000000000006465762d66757a7a15000000000000006372650000626974730000000000000000000000f8ffffffffffffff"
      "0000000000000000000000000000000000");
  auto parsed = ParseChangeSet(crash);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().message() == "change-set is not in its canonical encoding");

  ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = "dev";
  cs.credential_id = "cred-1";
  cs.seq = 1;
  cs.created = 5;
  Operation op;
  op.field = "answer/Q01/c11_child_helpline";
  op.new_value = "yes";
  op.hlc = 5;
  op.author = "dev";
  cs.ops = {op};
  const std::string canonical = SerializeChangeSet(cs);
  REQUIRE(canonical[0] == 1);
  REQUIRE(ParseChangeSet(canonical).ok());
  std::string flagged = canonical;
  flagged[0] = 2;
  CHECK_FALSE(ParseChangeSet(flagged).ok());
  CHECK(ChangeSetId(flagged) != ChangeSetId(canonical));
}

TEST_CASE("fuzz regression: a receipt or export number that is not an integer in range is refused, not converted") {
  // fuzz_audit_export crash-376d8214: {"tree_size": 2e85} was converted to an unsigned integer, which
  // is undefined behaviour (and -1 became 2^64 - 1).
  audit::Receipt r;
  r.changeset_id = std::string(64, 'a');
  r.index = 3;
  r.tree_size = 9;
  r.root = std::string(64, 'b');
  r.timestamp = 1'760'000'000;
  r.tree_head_signature = std::string(64, 'h');
  r.signature = std::string(64, 's');
  const auto valid = nlohmann::json::parse(audit::EncodeReceipt(r));
  REQUIRE(audit::DecodeReceipt(valid.dump()).ok());
  for (const char* bad : {"2e85", "-1", "9.5", "18446744073709551616"}) {
    auto j = valid;
    j["tree_size"] = nlohmann::json::parse(bad);
    auto decoded = audit::DecodeReceipt(j.dump());
    INFO(bad);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().message() == "receipt: \"tree_size\" has the wrong type");
  }
  auto j = valid;
  j["timestamp"] = -5;  // a signed member may be negative
  CHECK(audit::DecodeReceipt(j.dump()).ok());
  // The export's members are read the same way.
  const nlohmann::json file = {{"format", audit::kExportFormat}, {"ca_certificate", ""}, {"server_certificate", ""},
                               {"entries", nlohmann::json::array()}, {"size", 2e85}};
  auto summary = audit::VerifyExport(file);
  REQUIRE_FALSE(summary.ok());
  CHECK(summary.status().message() == "export: \"size\" has the wrong type");
}

TEST_CASE("fuzz regression: a first field that starts with a byte-order mark survives CsvLine and ParseCsv") {
  // fuzz_csv crash-3ca989ea: a file that starts with two byte-order marks. ParseCsv drops the first;
  // the second belongs to the first field, and CsvLine must write it so that it reads back.
  const std::string input = BytesFromHex("efbbbfefbbbf634f64652c6e6161582c65");
  auto records = ParseCsv(input, "fuzz");
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);
  CHECK((*records)[0].fields == std::vector<std::string>{"\xEF\xBB\xBF" "cOde", "naaX", "e"});
  const std::string written = CsvLine((*records)[0].fields);
  CHECK(written == "\"\xEF\xBB\xBF" "cOde\",naaX,e\n");
  auto again = ParseCsv(written, "fuzz");
  REQUIRE(again.ok());
  REQUIRE(again->size() == 1);
  CHECK((*again)[0].fields == (*records)[0].fields);
}

}  // namespace mnr
