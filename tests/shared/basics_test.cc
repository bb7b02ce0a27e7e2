#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "mnr/changeset.h"
#include "mnr/csv.h"
#include "mnr/field.h"
#include "mnr/frame.h"
#include "mnr/hlc.h"
#include "mnr/limits.h"
#include "mnr/messages.h"
#include "mnr/survey_schema.h"
#include "mnr/utf8.h"
#include "mnr/wall_clock.h"
#include "tests/support/process.h"

using namespace mnr;

TEST_CASE("CSV reads quotes, embedded newlines, CRLF and a byte-order mark") {
  auto r = ParseCsv("\xEF\xBB\xBF" "a,b\r\n\"x, \"\"y\"\"\",\"line1\nline2\"\r\nplain,\r\n", "t.csv");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].fields == std::vector<std::string>{"a", "b"});
  CHECK((*r)[1].fields == std::vector<std::string>{"x, \"y\"", "line1\nline2"});
  CHECK((*r)[1].line == 2);
  CHECK((*r)[2].line == 4);  // the quoted newline moved it down one line
  CHECK((*r)[2].fields == std::vector<std::string>{"plain", ""});
}

TEST_CASE("CSV errors name the file and line") {
  auto unterminated = ParseCsv("a\n\"open\n", "f.csv");
  REQUIRE_FALSE(unterminated.ok());
  CHECK(unterminated.status().message() == "f.csv:2: unterminated quoted field");
  auto stray = ParseCsv("a,b\nx\"y,z\n", "g.csv");
  REQUIRE_FALSE(stray.ok());
  CHECK(stray.status().message().rfind("g.csv:2: ", 0) == 0);
  auto bad_utf8 = ParseCsv("a\n\xC3\x28\n", "h.csv");
  REQUIRE_FALSE(bad_utf8.ok());
  CHECK(bad_utf8.status().message() == "h.csv:2: field 1 is not valid UTF-8");
}

TEST_CASE("CSV lines written by CsvLine read back unchanged") {
  const std::vector<std::vector<std::string>> rows = {
      {"Q01", "note, with comma", "quote \"inside\"", "multi\nline\r\nend"},
      {"", " leading space", "trailing ", "emoji 😀 عربى 中文"},
      {""},
  };
  std::string text;
  for (const auto& r : rows) text += CsvLine(r);
  auto parsed = ParseCsv(text, "round.csv");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) CHECK((*parsed)[i].fields == rows[i]);
}

TEST_CASE("UTF-8 validation rejects overlongs, surrogates and truncation") {
  CHECK(IsValidUtf8("héllo 😀"));
  CHECK_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  CHECK(CheckText(std::string(10, 'a'), "note", 9).message() == "note is 10 bytes; the limit is 9");
}

TEST_CASE("Field keys parse back and name the country") {
  auto f = ParseField(AnswerField("Q01", "c11_child_helpline"));
  REQUIRE(f.ok());
  CHECK(f->country == "Q01");
  CHECK(f->indicator == "c11_child_helpline");
  auto p = ParseField(PracticeField("X42", "ab12", "title"));
  REQUIRE(p.ok());
  CHECK(p->kind == FieldKey::Kind::kPractice);
  CHECK_FALSE(ParseField("answer/q01/c11").ok());         // lower-case country
  CHECK_FALSE(ParseField("practice/Q01/id/owner").ok());  // unknown attribute
  CHECK_FALSE(ParseField("answer/Q01/../x").ok());
  CHECK(IsValidCountryCode("X01"));
  CHECK_FALSE(IsValidCountryCode("X"));
  CHECK_FALSE(IsValidCountryCode("ABCDEFGHI"));
}

TEST_CASE("Answer values keep the note, including newlines") {
  AnswerValue v{Answer::kPartial, "first line\nsecond"};
  auto d = DecodeAnswer(EncodeAnswer(v));
  REQUIRE(d.ok());
  CHECK(d->answer == Answer::kPartial);
  CHECK(d->note == "first line\nsecond");
  CHECK(EncodeAnswer({Answer::kYes, ""}) == "yes");
  CHECK_FALSE(DecodeAnswer("maybe").ok());
}

TEST_CASE("A change-set serializes canonically and parses back") {
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = "dev1";
  cs.credential_id = "cred-1";
  cs.seq = 7;
  cs.created = HybridClock::Make(1000, 1);
  cs.ops.push_back({AnswerField("Q01", "c11_child_helpline"), std::nullopt, "yes\nnote", HybridClock::Make(1000, 0), "dev1", {}});
  cs.ops.push_back({AnswerField("Q01", "c12_reporting_hotline"), "no", std::nullopt, HybridClock::Make(1001, 0), "dev1",
                    {OperationVersion(5, "dev2")}});
  const std::string bytes = SerializeChangeSet(cs);
  CHECK(SerializeChangeSet(cs) == bytes);
  CHECK(ChangeSetId(bytes).size() == 64);
  auto back = ParseChangeSet(bytes);
  REQUIRE(back.ok());
  CHECK(back->seq == 7);
  REQUIRE(back->ops.size() == 2);
  CHECK(back->ops[0].new_value == std::optional<std::string>("yes\nnote"));
  CHECK_FALSE(back->ops[1].new_value.has_value());
  CHECK(back->ops[1].parents == std::vector<std::string>{OperationVersion(5, "dev2")});
}

TEST_CASE("Truncated or lying change-set bytes are refused without a large allocation") {
  ChangeSet cs;
  cs.device_id = "d";
  cs.credential_id = "c";
  cs.seq = 1;
  cs.ops.push_back({AnswerField("Q01", "c11_child_helpline"), std::nullopt, "yes", 1, "d", {}});
  std::string bytes = SerializeChangeSet(cs);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) CHECK_FALSE(ParseChangeSet(bytes.substr(0, cut)).ok());
  // Overwrite the first string length (device id) with 2^40: must be refused, not allocated.
  std::string lying = bytes;
  const std::size_t len_at = 1 + 4 + 4;  // endianness byte, format, schema_version
  for (int i = 0; i < 8; ++i) lying[len_at + i] = 0;
  lying[len_at + 5] = 1;
  auto r = ParseChangeSet(lying);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("exceeds the bytes left") != std::string::npos);
}

TEST_CASE("Frames carry type and length and refuse oversize or unknown types") {
  const std::string f = EncodeFrame(MessageType::kPush, "abc");
  CHECK(f.size() == kFrameHeaderBytes + 3);
  std::string_view buf = f;
  auto fr = TakeFrame(buf, 100);
  REQUIRE(fr.ok());
  CHECK(fr->type == MessageType::kPush);
  CHECK(fr->payload == "abc");
  CHECK(buf.empty());
  std::array<unsigned char, kFrameHeaderBytes> big{static_cast<unsigned char>(MessageType::kPush), 0x7f, 0xff, 0xff, 0xff};
  CHECK_FALSE(DecodeFrameHeader(big, limits::kFrameBytes).ok());
  std::array<unsigned char, kFrameHeaderBytes> unknown{200, 0, 0, 0, 1};
  CHECK_FALSE(DecodeFrameHeader(unknown, limits::kFrameBytes).ok());
  std::string_view partial = std::string_view(f).substr(0, 6);
  CHECK(TakeFrame(partial, 100).status().code() == Status::Code::kNotFound);
}

TEST_CASE("Protocol messages round-trip and a malformed payload is an error value") {
  Welcome w;
  w.store_id = "s1";
  w.countries = {"Q01", "Q02"};
  w.acked_through = 12;
  const std::string frame = EncodeMessage(w);
  auto back = DecodeMessage<Welcome>(std::string_view(frame).substr(kFrameHeaderBytes));
  REQUIRE(back.ok());
  CHECK(back->countries == w.countries);
  CHECK(back->acked_through == 12);
  CHECK_FALSE(DecodeMessage<Welcome>("\x01\xff\xff").ok());
}

TEST_CASE("The hybrid clock never goes backwards and moves past what it observes") {
  HybridClock c;
  HlcTime a = c.Now();
  HlcTime b = c.Now();
  CHECK(b > a);
  const HlcTime future = HybridClock::Make(HybridClock::Millis(a) + 3'600'000, 5);
  c.Observe(future);
  CHECK(c.Now() > future);
  CHECK(HybridClock::Format(HybridClock::Make(0, 2)) == "1970-01-01T00:00:00.000Z+2");
}

TEST_CASE("A scoped wall clock sets the time every reader sees, the hybrid clock's too, and restores the one it replaced") {
  const std::int64_t system = UnixNow();
  {
    std::int64_t ms = 1'700'000'000'999;
    ScopedWallClock outer([&ms] { return ms; });
    CHECK(UnixNowMillis() == 1'700'000'000'999);
    CHECK(UnixNow() == 1'700'000'000);
    HybridClock c;
    CHECK(HybridClock::Millis(c.Now()) == 1'700'000'000'999u);
    ms = 1'700'000'001'000;
    CHECK(UnixNow() == 1'700'000'001);
    {
      ScopedWallClock inner([] { return std::int64_t{-1}; });
      CHECK(UnixNow() == -1);  // a millisecond before the epoch is in the second before it
    }
    CHECK(UnixNowMillis() == 1'700'000'001'000);
  }
  CHECK(UnixNow() >= system);
  CHECK(UnixNow() < system + 60);
}

TEST_CASE("The embedded survey schema has 6 domains, 21 capabilities and every seed indicator") {
  const auto& s = SurveySchema::Embedded();
  CHECK(s.version() == 1);
  CHECK(s.domains().size() == 6);
  CHECK(s.capabilities().size() == 21);
  std::set<int> covered;
  for (const auto& i : s.indicators()) {
    covered.insert(i.capability);
    CHECK_FALSE(i.label.en.empty());
    CHECK_FALSE(i.label.fr.empty());
  }
  CHECK(covered.size() == 21);  // every capability has at least one indicator
  std::ifstream seed(test::SourceDir() + "/tests/data/mnr-indicators.tsv");
  REQUIRE(seed);
  std::string line;
  std::getline(seed, line);
  int n = 0;
  while (std::getline(seed, line)) {
    const std::string id = line.substr(0, line.find('\t'));
    INFO(id);
    CHECK(s.FindIndicator(id) != nullptr);
    ++n;
  }
  CHECK(n == 26);
}

TEST_CASE("A schema file with a broken reference is refused with its location") {
  auto r = SurveySchema::Parse(R"({"schema":"mnr-survey","version":2,"domains":[{"id":1,"label":{"en":"a","fr":"b"}}],
    "capabilities":[{"id":1,"domain":1,"label":{"en":"a","fr":"b"}}],
    "indicators":[{"id":"x1","capability":9,"label":{"en":"a","fr":"b"}}]})",
                               "new.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "new.json: indicators[0]: unknown capability 9");
}
