#include <catch2/catch.hpp>

#include "mnr/describe.h"
#include "mnr/field.h"

using namespace mnr;

namespace {

const std::string kField = "answer/Q01/c11_child_helpline";

std::string Encoded(const char* answer, const std::string& note = "") { return EncodeAnswer({*ParseAnswer(answer), note}); }

}  // namespace

TEST_CASE("A note change reads old -> new, and a note that goes reads (none)") {
  CHECK(DescribeChange(kField, Encoded("yes", "Ligne suspendue faute de financement"), Encoded("partial")) ==
        "yes -> partial; note \"Ligne suspendue faute de financement\" -> (none)");
  CHECK(DescribeChange(kField, Encoded("no", "old"), Encoded("no", "new")) == "no; note \"old\" -> \"new\"");
  CHECK(DescribeChange(kField, Encoded("no", "same"), Encoded("yes", "same")) == "no -> yes");
  CHECK(DescribeChange(kField, std::nullopt, Encoded("partial", "pilot")) == "(none) -> partial; note \"pilot\"");
  CHECK(DescribeChange(kField, Encoded("partial", "pilot"), std::nullopt) == "partial; note \"pilot\" -> (none)");
  CHECK(DescribeChange(kField, Encoded("yes", "kept"), Encoded("yes", "kept")) == "yes; note \"kept\" (unchanged)");
  CHECK(DescribeChange("practice/Q01/abc/kind", std::string("challenge"), std::string("lesson_learned")) ==
        "challenge -> lesson_learned");
  CHECK(DescribeChange("practice/Q01/abc/title", std::nullopt, std::string("Chat")) == "(none) -> \"Chat\"");
}

TEST_CASE("Long notes are shortened to 40 characters, counting characters not bytes") {
  const std::string note = "Ligne suspendue faute de financement depuis l'été 2023, reprise prévue";
  const std::string shown = DescribeValue(kField, Encoded("no", note));
  CHECK(shown == "no; note \"Ligne suspendue faute de financement dep\u2026\"");
  CHECK(TerminalText("ééééé", 3) == "ééé\u2026");
  CHECK(TerminalText("abc", 3) == "abc");
  CHECK(TerminalText(std::string(100, 'x'), 0) == std::string(100, 'x'));
}

TEST_CASE("Control characters and broken UTF-8 in notes are shown escaped, never sent to the terminal") {
  CHECK(TerminalText("a\x1b[2Jb") == "a\\x1b[2Jb");
  CHECK(TerminalText("one\ntwo\tthree\r") == "one\\ntwo\\tthree\\r");
  CHECK(TerminalText("back\\slash") == "back\\\\slash");
  CHECK(TerminalText("caf\xe9") == "caf\\xe9");
  CHECK(TerminalText("\xc2\x9b" "31m") == "\\u009b31m");               // C1 CSI
  CHECK(TerminalText("abc\u202edef") == "abc\\u202edef");              // right-to-left override
  CHECK(TerminalText("\x7f") == "\\x7f");
  CHECK(TerminalText("say \"hi\"") == "say \"hi\"");
  CHECK(DescribeValue(kField, Encoded("yes", "say \"hi\"\x1b")) == "yes; note \"say \\\"hi\\\"\\x1b\"");
  CHECK(TerminalText("مرحبا 你好 🙂") == "مرحبا 你好 🙂");
}

TEST_CASE("The nearest known names to a typo come first") {
  const std::vector<std::string> known = {"c01_national_strategy", "c11_child_helpline", "c12_reporting_hotline",
                                          "c16_takedown_procedures"};
  auto near = NearestNames("c11_helpline", known, 2);
  REQUIRE(near.size() == 2);
  CHECK(near[0] == "c11_child_helpline");
  CHECK(EditDistance("kitten", "sitting") == 3);
  CHECK(EditDistance("", "abc") == 3);
  CHECK(NearestNames("Q1", {"Q01", "Q01", "Q02"}, 5) == std::vector<std::string>{"Q01", "Q02"});
}

TEST_CASE("A device is shown by its name, else by its credential's name and the start of its id") {
  CHECK(DeviceLabel("Q01 laptop", "office-a", "0123456789abcdef") == "Q01 laptop");
  CHECK(DeviceLabel("", "office-a", "0123456789abcdef") == "office-a/01234567");
  CHECK(DeviceLabel("", "", "0123456789abcdef") == "0123456789abcdef");
}

TEST_CASE("An audit record reads by name, and with ids shows the ids too") {
  nlohmann::json r = {{"index", 4},
                      {"recorded_at", 0},
                      {"kind", "change-set"},
                      {"credential", "cred-0011"},
                      {"name", "office-a"},
                      {"device", "0123456789abcdef"},
                      {"device_name", "office-a/01234567"},
                      {"field", kField},
                      {"hlc", 0},
                      {"old_value", Encoded("yes", "note\x1b")},
                      {"new_value", Encoded("yes")},
                      {"changeset_id", "abcdef0123456789abcdef"}};
  const std::string line = DescribeHistoryRecord(r, false);
  CHECK(line.find("  office-a  device office-a/01234567  ") != std::string::npos);
  CHECK(line.find("cred-0011") == std::string::npos);
  CHECK(line.find(kField + ": yes; note \"note\\x1b\" -> (none)") != std::string::npos);
  CHECK(line.find('\x1b') == std::string::npos);
  const std::string with_ids = DescribeHistoryRecord(r, true);
  CHECK(with_ids.find("cred-0011 (office-a)") != std::string::npos);
  CHECK(with_ids.find("device 0123456789abcdef (office-a/01234567)") != std::string::npos);
}
