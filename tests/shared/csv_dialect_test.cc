// CSV as spreadsheets save it: French Excel's ';' and Windows-1252, byte-order marks, CRLF.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mnr/csv.h"

using mnr::CsvRecord;
using mnr::ParseCsvFile;

namespace {

std::vector<std::vector<std::string>> Fields(const std::vector<CsvRecord>& records) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : records) out.push_back(r.fields);
  return out;
}

}  // namespace

TEST_CASE("a CSV file from French Excel reads with ';' and its Windows-1252 bytes become UTF-8") {
  auto doc = ParseCsvFile("pays;indicateur;r\xe9ponse;note\r\nQ01;c11_child_helpline;Oui;\"d\xe9j\xe0 fait; voir \x80 5\"\r\n",
                          "fr.csv");
  INFO(doc.status().message());
  REQUIRE(doc.ok());
  CHECK(doc->dialect.delimiter == ';');
  CHECK(doc->dialect.windows_1252);
  CHECK_FALSE(doc->dialect.bom);
  CHECK(Fields(doc->records) == std::vector<std::vector<std::string>>{
                                   {"pays", "indicateur", "réponse", "note"},
                                   {"Q01", "c11_child_helpline", "Oui", "déjà fait; voir € 5"}});
  CHECK(doc->records[1].line == 2);
}

TEST_CASE("a UTF-8 CSV file with a byte-order mark and ';' is read as UTF-8, not converted") {
  auto doc = ParseCsvFile("\xEF\xBB\xBF" "country;indicator;answer;note\nQ01;c11_child_helpline;NON;caf\xc3\xa9, cr\xc3\xa8me\n", "bom.csv");
  REQUIRE(doc.ok());
  CHECK(doc->dialect.delimiter == ';');
  CHECK(doc->dialect.bom);
  CHECK_FALSE(doc->dialect.windows_1252);
  CHECK(doc->records[1].fields == std::vector<std::string>{"Q01", "c11_child_helpline", "NON", "café, crème"});
}

TEST_CASE("the delimiter is taken from the header line: ',' unless it has more semicolons outside quotes") {
  auto comma = ParseCsvFile("country,indicator,\"a;b;c\"\nQ01,x;y,z\n", "c.csv");
  REQUIRE(comma.ok());
  CHECK(comma->dialect.delimiter == ',');
  CHECK(comma->records[1].fields == std::vector<std::string>{"Q01", "x;y", "z"});
  auto one_column = ParseCsvFile("country\nQ01\n", "one.csv");
  REQUIRE(one_column.ok());
  CHECK(one_column->dialect.delimiter == ',');
}

TEST_CASE("a byte Windows-1252 does not define is refused naming line and column") {
  auto doc = ParseCsvFile("a;b\nok;x\x81y\n", "bad.csv");
  CHECK(doc.status().message() ==
        "bad.csv:2: column 5: byte 0x81 is neither UTF-8 nor Windows-1252 (save the file as CSV UTF-8)");
}

TEST_CASE("a file with a byte-order mark promises UTF-8, so invalid UTF-8 in it is still refused") {
  auto doc = ParseCsvFile("\xEF\xBB\xBF" "a,b\nx,caf\xe9\n", "bom.csv");
  CHECK_THAT(doc.status().message(), Catch::StartsWith("bom.csv:2: field 2 is not valid UTF-8"));
}

TEST_CASE("CsvLine with ';' and CRLF reads back unchanged, quoting fields that hold the delimiter") {
  const std::vector<std::vector<std::string>> rows = {
      {"pays", "note"}, {"Q01", "a;b"}, {"Q02", "a,b"}, {"Q03", "two\r\nlines"}, {"Q04", ""}};
  std::string text(mnr::kUtf8Bom);
  for (const auto& r : rows) text += mnr::CsvLine(r, ';', "\r\n");
  CHECK(text.substr(3, 11) == "pays;note\r\n");
  CHECK(mnr::CsvLine({"Q01", "a;b"}, ';', "\r\n") == "Q01;\"a;b\"\r\n");
  CHECK(mnr::CsvLine({"Q02", "a,b"}, ';', "\r\n") == "Q02;a,b\r\n");
  auto doc = ParseCsvFile(text, "round.csv");
  REQUIRE(doc.ok());
  CHECK(doc->dialect.delimiter == ';');
  CHECK(Fields(doc->records) == rows);
}
