// mnr::xlsx: workbooks written with libxlsxwriter and read back by our reader and by Python's zipfile
// and XML parser; workbooks from another writer (openpyxl); damaged and hostile files refused.
#include "mnr/xlsx.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mnr/file_util.h"
#include "tests/support/process.h"
#include "tests/support/xlsx_python.h"

using mnr::xlsx::Cell;
using mnr::xlsx::Sheet;

namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Writes a zip with Python from `entries` given as Python source ({'name': 'text', ...}).
void PythonZip(const std::string& path, const std::string& entries) {
  const std::string script = "import sys, zipfile\n"
                             "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
                             "    for name, text in (" + entries + ").items(): z.writestr(name, text)\n";
  auto r = mnr::test::Run({"/usr/bin/python3", "-c", script, path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

const std::string kMain = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";

// A minimal workbook of one sheet "S" whose sheetData is `data` (no relationships: the reader falls
// back to xl/worksheets/sheet1.xml, as for a workbook written without them).
std::string OneSheet(const std::string& data, const std::string& shared = "") {
  std::string entries = "{'xl/workbook.xml': '<workbook xmlns=\"" + kMain +
                        "\"><sheets><sheet name=\"S\" sheetId=\"1\"/></sheets></workbook>', "
                        "'xl/worksheets/sheet1.xml': '<worksheet xmlns=\"" + kMain + "\"><sheetData>" + data +
                        "</sheetData></worksheet>'";
  if (!shared.empty()) entries += ", 'xl/sharedStrings.xml': '<sst xmlns=\"" + kMain + "\">" + shared + "</sst>'";
  return entries + "}";
}

}  // namespace

TEST_CASE("a workbook written by WriteWorkbook reads back with the same sheets, text and numbers") {
  mnr::test::TempDir dir;
  const std::string path = dir / "book.xlsx";
  const std::vector<Sheet> sheets = {
      {"answers",
       {"country", "indicator", "answer", "note"},
       {{std::string("Q01"), std::string("c11_child_helpline"), std::string("oui"), std::string("Données, « préliminaires »")},
        {std::string("Q01"), std::string("c12_reporting_hotline"), std::string("no"), std::string("two\nlines 🙂")},
        {Cell(), Cell(), Cell(), Cell()},
        {std::string("Q02"), std::string("c00_mnr_reference"), Cell(), std::string("'=1+1")}}},
      {"counts", {"indicator", "n_yes", "pct_yes"}, {{std::string("c11_child_helpline"), 12.0, 0.375}}},
  };
  REQUIRE(mnr::xlsx::WriteWorkbook(path, sheets).ok());

  auto read = mnr::xlsx::ReadWorkbook(path);
  INFO(read.status().message());
  REQUIRE(read.ok());
  REQUIRE(read->size() == 2);
  const Sheet& a = (*read)[0];
  CHECK(a.name == "answers");
  CHECK(a.header == std::vector<std::string>{"country", "indicator", "answer", "note"});
  REQUIRE(a.rows.size() == 4);
  CHECK(std::get<std::string>(a.rows[0][3]) == "Données, « préliminaires »");
  CHECK(std::get<std::string>(a.rows[1][3]) == "two\nlines 🙂");
  // The empty row inside the data stays, so rows[i] is spreadsheet row i + 2.
  CHECK(std::holds_alternative<std::monostate>(a.rows[2][0]));
  CHECK(std::holds_alternative<std::monostate>(a.rows[3][2]));
  CHECK(std::get<std::string>(a.rows[3][3]) == "'=1+1");
  const Sheet& counts = (*read)[1];
  CHECK(counts.name == "counts");
  CHECK(std::get<double>(counts.rows[0][1]) == 12.0);
  CHECK(std::get<double>(counts.rows[0][2]) == 0.375);
  CHECK(mnr::xlsx::CellText(counts.rows[0][1]) == "12");
  CHECK(mnr::xlsx::CellText(counts.rows[0][2]) == "0.375");
  CHECK(mnr::xlsx::CellRef(5, 2) == "C5");
  CHECK(mnr::xlsx::CellRef(1, 27) == "AB1");
}

TEST_CASE("Python's zipfile and XML parser see the written cells, numbers as numbers and the header frozen") {
  mnr::test::TempDir dir;
  const std::string path = dir / "book.xlsx";
  REQUIRE(mnr::xlsx::WriteWorkbook(path, {{"counts", {"indicator", "n_yes"}, {{std::string("c11 é"), 3.0}}}}).ok());
  const auto doc = mnr::test::XlsxAsJson(path);
  INFO(doc.dump());
  REQUIRE(doc.contains("sheets"));
  const auto& sheet = doc["sheets"][0];
  CHECK(sheet["name"] == "counts");
  CHECK(sheet["frozen_rows"] == 1);
  CHECK(sheet["cells"]["A1"]["v"] == "indicator");
  CHECK(sheet["cells"]["B1"]["v"] == "n_yes");
  CHECK(sheet["cells"]["A2"]["t"] == "s");
  CHECK(sheet["cells"]["A2"]["v"] == "c11 é");
  CHECK(sheet["cells"]["B2"]["t"] == "n");
  CHECK(sheet["cells"]["B2"]["v"] == 3.0);
}

TEST_CASE("WriteWorkbook refuses a sheet name Excel refuses and text that is not UTF-8, and writes nothing") {
  mnr::test::TempDir dir;
  const std::string path = dir / "bad.xlsx";
  auto slash = mnr::xlsx::WriteWorkbook(path, {{"a/b", {"x"}, {}}});
  CHECK_THAT(slash.message(), Catch::Contains("sheet \"a/b\": not a sheet name Excel accepts"));
  auto twice = mnr::xlsx::WriteWorkbook(path, {{"S", {"x"}, {}}, {"s", {"x"}, {}}});
  CHECK_THAT(twice.message(), Catch::Contains("sheet \"s\": appears twice"));
  auto bad = mnr::xlsx::WriteWorkbook(path, {{"S", {"x"}, {{std::string("caf\xe9")}}}});
  CHECK_THAT(bad.message(), Catch::Contains("sheet \"S\": cell A2: text is not valid UTF-8"));
  CHECK_FALSE(Exists(path));
}

TEST_CASE("a workbook written by openpyxl reads back: shared and inline strings, numbers, booleans") {
  mnr::test::TempDir dir;
  const std::string path = dir / "openpyxl.xlsx";
  auto r = mnr::test::Run({"/usr/bin/python3", "-c",
                           "import sys, openpyxl\n"
                           "wb = openpyxl.Workbook(); ws = wb.active; ws.title = 'réponses'\n"
                           "ws.append(['pays', 'indicateur', 'réponse', 'note'])\n"
                           "ws.append(['Q01', 'c11_child_helpline', 'Oui', 'Un numéro, gratuit'])\n"
                           "ws.append(['Q01', 'c12_reporting_hotline', 'NON', 2022])\n"
                           "ws.append(['Q02', 'c00_mnr_reference', True, 0.5])\n"
                           "wb.create_sheet('autre')['A1'] = 'x'\n"
                           "wb.save(sys.argv[1])\n",
                           path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto read = mnr::xlsx::ReadWorkbook(path);
  INFO(read.status().message());
  REQUIRE(read.ok());
  REQUIRE(read->size() == 2);
  const Sheet& s = (*read)[0];
  CHECK(s.name == "réponses");
  CHECK(s.header == std::vector<std::string>{"pays", "indicateur", "réponse", "note"});
  REQUIRE(s.rows.size() == 3);
  CHECK(std::get<std::string>(s.rows[0][2]) == "Oui");
  CHECK(std::get<std::string>(s.rows[0][3]) == "Un numéro, gratuit");
  CHECK(std::get<double>(s.rows[1][3]) == 2022.0);
  CHECK(std::get<std::string>(s.rows[2][2]) == "TRUE");
  CHECK(std::get<double>(s.rows[2][3]) == 0.5);
  CHECK((*read)[1].name == "autre");
  CHECK((*read)[1].header == std::vector<std::string>{"x"});
}

TEST_CASE("ReadWorkbook refuses a file that is not a zip, a truncated zip and a damaged entry, naming the file") {
  mnr::test::TempDir dir;
  const std::string text = dir / "answers.xlsx";
  mnr::test::WriteText(text, "country,indicator\n");
  CHECK_THAT(mnr::xlsx::ReadWorkbook(text).status().message(),
             Catch::Equals(text + ": not an xlsx workbook (not a zip file)"));

  const std::string good = dir / "good.xlsx";
  REQUIRE(mnr::xlsx::WriteWorkbook(good, {{"S", {"a"}, {{std::string(2000, 'x')}}}}).ok());
  const std::string bytes = mnr::test::ReadText(good);

  const std::string truncated = dir / "truncated.xlsx";
  mnr::test::WriteText(truncated, bytes.substr(0, bytes.size() / 2));
  auto t = mnr::xlsx::ReadWorkbook(truncated);
  CHECK_FALSE(t.ok());
  CHECK_THAT(t.status().message(), Catch::StartsWith(truncated + ": ") && Catch::Contains("damaged"));

  // Every byte of the entries' data overwritten, the directory at the end kept.
  const std::string damaged = dir / "damaged.xlsx";
  std::string broken = bytes;
  const std::size_t directory = broken.find("PK\x01\x02");
  REQUIRE(directory != std::string::npos);
  for (std::size_t i = 64; i < directory; ++i) broken[i] = static_cast<char>(broken[i] ^ 0x5A);
  mnr::test::WriteText(damaged, broken);
  auto d = mnr::xlsx::ReadWorkbook(damaged);
  CHECK_FALSE(d.ok());
  CHECK_THAT(d.status().message(), Catch::StartsWith(damaged + ": "));
}

TEST_CASE("ReadWorkbook refuses a zip bomb before inflating it") {
  mnr::test::TempDir dir;
  const std::string bomb = dir / "bomb.xlsx";
  // 64 MiB of spaces compress to about 64 KiB: a ratio of a thousand.
  PythonZip(bomb, "{'xl/workbook.xml': '<workbook xmlns=\"" + kMain +
                      "\"><sheets><sheet name=\"S\" sheetId=\"1\"/></sheets></workbook>', "
                      "'xl/worksheets/sheet1.xml': '<worksheet>' + ' ' * (64 << 20) + '</worksheet>'}");
  auto r = mnr::xlsx::ReadWorkbook(bomb);
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains(bomb + ": sheet \"S\": ") && Catch::Contains("zip bomb"));
}

TEST_CASE("ReadWorkbook names the sheet and cell of an error value, a missing shared string and a stray value") {
  mnr::test::TempDir dir;
  const std::string path = dir / "bad.xlsx";
  SECTION("an error value") {
    PythonZip(path, OneSheet("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a</t></is></c></row>"
                             "<row r=\"5\"><c r=\"A5\" t=\"e\"><v>#N/A</v></c></row>"));
    CHECK(mnr::xlsx::ReadWorkbook(path).status().message() ==
          path + ": sheet \"S\": cell A5: holds the error #N/A (correct the formula or type the value)");
  }
  SECTION("a shared string the workbook does not have") {
    PythonZip(path, OneSheet("<row r=\"1\"><c r=\"B1\" t=\"s\"><v>3</v></c></row>", "<si><t>only</t></si>"));
    CHECK_THAT(mnr::xlsx::ReadWorkbook(path).status().message(),
               Catch::StartsWith(path + ": sheet \"S\": cell B1: refers to shared string \"3\""));
  }
  SECTION("a value in a column the header does not name") {
    PythonZip(path, OneSheet("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a</t></is></c></row>"
                             "<row r=\"2\"><c r=\"C2\"><v>1</v></c></row>"));
    CHECK(mnr::xlsx::ReadWorkbook(path).status().message() ==
          path + ": sheet \"S\": cell C2: a value in a column the header (row 1) does not name");
  }
  SECTION("a DTD, the door to entity expansion") {
    PythonZip(path, "{'xl/workbook.xml': '<!DOCTYPE w [<!ENTITY a \"aaaa\">]><workbook xmlns=\"" + kMain +
                        "\"><sheets><sheet name=\"&a;\" sheetId=\"1\"/></sheets></workbook>'}");
    CHECK_THAT(mnr::xlsx::ReadWorkbook(path).status().message(),
               Catch::Contains("entry xl/workbook.xml: declares a DTD"));
  }
  SECTION("escaped characters and rich text runs read as their text") {
    PythonZip(path, OneSheet("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>",
                             "<si><r><t>tab_x0009_</t></r><r><t xml:space=\"preserve\"> run</t></r>"
                             "<rPh><t>phonetic</t></rPh></si>"));
    auto r = mnr::xlsx::ReadWorkbook(path);
    REQUIRE(r.ok());
    CHECK((*r)[0].header == std::vector<std::string>{"tab\t run"});
  }
}
