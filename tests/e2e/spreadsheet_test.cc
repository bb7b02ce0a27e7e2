// Spreadsheets end to end with the real mnr-client: template -> filled in by a real xlsx writer
// (openpyxl) or saved as French Excel saves CSV -> import -> export gives the same answers and notes;
// the files Python opens carry the right cells; bad, damaged and hostile files change nothing.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/xlsx_python.h"

using mnr::test::RunResult;
using mnr::test::TempDir;

namespace {

RunResult Sheets(std::vector<std::string> args) {
  args.insert(args.begin(), mnr::test::ClientBin());
  return mnr::test::Run(args);
}

RunResult SheetsOk(std::vector<std::string> args) {
  RunResult r = Sheets(std::move(args));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

RunResult Python(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", script};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = mnr::test::Run(argv);
  INFO("python stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

std::string TwoCountryStore(const TempDir& dir) {
  const std::string db = dir / "office.db";
  SheetsOk({"init", "--db", db, "--country", "Q01", "--country", "Q02"});
  return db;
}

constexpr std::size_t kIndicators = 27;  // schemas/mnr-survey-v1.json

// The cell of `sheet` in the row whose column B is `indicator` and column A `country`.
nlohmann::json CellOf(const nlohmann::json& sheet, const std::string& country, const std::string& indicator,
                      const std::string& column) {
  for (const auto& [ref, cell] : sheet["cells"].items()) {
    if (ref[0] != 'A' || cell["v"] != country) continue;
    const std::string row = ref.substr(1);
    if (sheet["cells"].value("B" + row, nlohmann::json::object()).value("v", "") != indicator) continue;
    return sheet["cells"].value(column + row, nlohmann::json());
  }
  return nlohmann::json();
}

}  // namespace

TEST_CASE("a template filled in with openpyxl imports, and export gives back the same answers and notes") {
  TempDir dir;
  const std::string db = TwoCountryStore(dir);
  SheetsOk({"answer", "--db", db, "Q01", "c11_child_helpline", "yes", "--note", "existing"});
  const std::string blank = dir / "template.xlsx";
  SheetsOk({"template", "--db", db, "--format", "xlsx", "--lang", "fr", "--out", blank});

  // The template as Python sees it: French titles, every indicator of both countries, the answer in French.
  const auto doc = mnr::test::XlsxAsJson(blank);
  INFO(doc.dump().substr(0, 2000));
  REQUIRE(doc.contains("sheets"));
  const auto& sheet = doc["sheets"][0];
  CHECK(sheet["name"] == "réponses");
  CHECK(sheet["frozen_rows"] == 1);
  CHECK(sheet["cells"]["A1"]["v"] == "pays");
  CHECK(sheet["cells"]["E1"]["v"] == "texte");
  CHECK(sheet["cells"]["F1"]["v"] == "réponse");
  CHECK(sheet["cells"]["G1"]["v"] == "note");
  CHECK(sheet["cells"].contains("B" + std::to_string(2 * kIndicators + 1)));
  CHECK_FALSE(sheet["cells"].contains("B" + std::to_string(2 * kIndicators + 2)));
  CHECK(CellOf(sheet, "Q01", "c11_child_helpline", "F")["v"] == "oui");
  CHECK(CellOf(sheet, "Q01", "c11_child_helpline", "G")["v"] == "existing");
  CHECK(CellOf(sheet, "Q01", "c00_mnr_reference", "E")["v"] == "Le MNR est utilisé comme référence de bonnes pratiques");
  CHECK(CellOf(sheet, "Q02", "c00_mnr_reference", "F").is_null());

  // A person fills it in with a real spreadsheet writer: mixed case, French and English, a number.
  const std::string filled = dir / "filled.xlsx";
  Python("import sys, openpyxl\n"
         "wb = openpyxl.load_workbook(sys.argv[1]); ws = wb.active\n"
         "for row in ws.iter_rows(min_row=2):\n"
         "    key = (row[0].value, row[1].value)\n"
         "    if key == ('Q01', 'c11_child_helpline'): row[5].value = 'Inconnu'\n"
         "    if key == ('Q01', 'c12_reporting_hotline'): row[5].value = 'Partiel'; row[6].value = 'Numéro 116 111, « gratuit »\\nligne 2'\n"
         "    if key == ('Q02', 'c00_mnr_reference'): row[5].value = 'NO'; row[6].value = 2022\n"
         "wb.save(sys.argv[2])\n",
         {blank, filled});
  RunResult imported = SheetsOk({"import", "--db", db, filled});
  CHECK(imported.out == "imported " + std::to_string(2 * kIndicators) + " rows: 3 answers changed, 2 notes changed, " +
                            std::to_string(2 * kIndicators - 3) + " unchanged\n");

  CHECK(SheetsOk({"export", "--db", db}).out ==
        "country,indicator,answer,note\n"
        "Q01,c11_child_helpline,unknown,existing\n"
        "Q01,c12_reporting_hotline,partial,\"Numéro 116 111, « gratuit »\nligne 2\"\n"
        "Q02,c00_mnr_reference,no,2022\n");

  // The export as a workbook carries the same cells, and imports back without changing anything.
  const std::string exported = dir / "export.xlsx";
  SheetsOk({"export", "--db", db, "--format", "xlsx", "--out", exported});
  const auto out = mnr::test::XlsxAsJson(exported);
  INFO(out.dump());
  REQUIRE(out.contains("sheets"));
  REQUIRE(out["sheets"].size() == 2);
  const auto& answers = out["sheets"][0];
  CHECK(answers["name"] == "answers");
  CHECK(out["sheets"][1]["name"] == "practices");
  CHECK(answers["cells"]["F1"]["v"] == "answer");
  CHECK(CellOf(answers, "Q01", "c12_reporting_hotline", "F")["v"] == "partial");
  CHECK(CellOf(answers, "Q01", "c12_reporting_hotline", "G")["v"] == "Numéro 116 111, « gratuit »\nligne 2");
  CHECK(CellOf(answers, "Q01", "c12_reporting_hotline", "D")["v"] == "CSEA hotline");
  CHECK(CellOf(answers, "Q02", "c00_mnr_reference", "G")["v"] == "2022");
  CHECK(SheetsOk({"import", "--db", db, exported}).out ==
        "imported 3 rows: 0 answers changed, 0 notes changed, 3 unchanged\n");
}

TEST_CASE("CSV files in French Excel's dialect import: semicolons, Windows-1252, a byte-order mark, Oui and NON") {
  TempDir dir;
  const std::string db = TwoCountryStore(dir);
  const std::string csv = dir / "excel.csv";
  mnr::test::WriteText(csv, "pays;indicateur;r\xe9ponse;note\r\n"
                            "Q01;c11_child_helpline;Oui;Num\xe9ro gratuit; 24h/24\r\n"
                            "Q02;c12_reporting_hotline;NON;\r\n");
  RunResult r = Sheets({"import", "--db", db, csv});
  // "Numéro gratuit; 24h/24" is unquoted: French Excel would have quoted it, so the row is refused.
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(csv + ":2: row: has 5 fields, the header has 4"));
  CHECK(SheetsOk({"export", "--db", db}).out == "country,indicator,answer,note\n");

  mnr::test::WriteText(csv, "pays;indicateur;r\xe9ponse;note\r\n"
                            "Q01;c11_child_helpline;Oui;\"Num\xe9ro gratuit; 24h/24\"\r\n"
                            "Q02;c12_reporting_hotline;NON;\r\n");
  r = SheetsOk({"import", "--db", db, csv});
  CHECK(r.err == "mnr-client: " + csv + ": read as Windows-1252 (the file is not UTF-8)\n");
  CHECK(r.out == "imported 2 rows: 2 answers changed, 1 note changed, 0 unchanged\n");

  const std::string bom = dir / "utf8.csv";
  mnr::test::WriteText(bom, "\xEF\xBB\xBF" "country;indicator;answer;note\r\nQ01;c00_mnr_reference; partiel ;d\xc3\xa9j\xc3\xa0 vu\r\n");
  r = SheetsOk({"import", "--db", db, bom});
  CHECK(r.err.empty());
  CHECK(r.out == "imported 1 row: 1 answer changed, 1 note changed, 0 unchanged\n");

  CHECK(SheetsOk({"export", "--db", db}).out ==
        "country,indicator,answer,note\n"
        "Q01,c00_mnr_reference,partial,déjà vu\n"
        "Q01,c11_child_helpline,yes,Numéro gratuit; 24h/24\n"
        "Q02,c12_reporting_hotline,no,\n");
}

TEST_CASE("a French CSV template saved again by Excel in Windows-1252 imports with the answers typed into it") {
  TempDir dir;
  const std::string db = TwoCountryStore(dir);
  SheetsOk({"answer", "--db", db, "Q02", "c11_child_helpline", "no", "--note", "=à revoir"});
  const std::string blank = dir / "modele.csv";
  SheetsOk({"template", "--db", db, "--lang", "fr", "--out", blank});
  const std::string text = mnr::test::ReadText(blank);
  CHECK(text.substr(0, 3) == "\xEF\xBB\xBF");
  CHECK(text.substr(3, text.find('\n') - 2) == "pays;indicateur;domaine;capacité;texte;réponse;note\r\n");
  CHECK_THAT(text, Catch::Contains("\r\nQ02;c11_child_helpline;") && Catch::Contains(";non;'=à revoir\r\n"));

  // Excel re-saves as "CSV (séparateur : point-virgule)": Windows-1252, no byte-order mark.
  const std::string filled = dir / "rempli.csv";
  Python("import sys\n"
         "lines = open(sys.argv[1], encoding='utf-8-sig', newline='').read().split('\\r\\n')\n"
         "for i, line in enumerate(lines):\n"
         "    f = line.split(';')\n"
         "    if f[:2] == ['Q01', 'c00_mnr_reference']: lines[i] = ';'.join(f[:5] + ['OUI', 'vérifié'])\n"
         "open(sys.argv[2], 'wb').write('\\r\\n'.join(lines).encode('cp1252'))\n",
         {blank, filled});
  RunResult r = SheetsOk({"import", "--db", db, filled});
  CHECK_THAT(r.err, Catch::Contains("read as Windows-1252"));
  CHECK(r.out == "imported " + std::to_string(2 * kIndicators) + " rows: 1 answer changed, 1 note changed, " +
                     std::to_string(2 * kIndicators - 1) + " unchanged\n");
  CHECK(SheetsOk({"export", "--db", db}).out ==
        "country,indicator,answer,note\n"
        "Q01,c00_mnr_reference,yes,vérifié\n"
        "Q02,c11_child_helpline,no,'=à revoir\n");
  // For Excel: a byte-order mark and CRLF; in French, ';' and the French words.
  CHECK(SheetsOk({"export", "--db", db, "--excel"}).out ==
        "\xEF\xBB\xBF" "country,indicator,answer,note\r\nQ01,c00_mnr_reference,yes,vérifié\r\n"
        "Q02,c11_child_helpline,no,'=à revoir\r\n");
  CHECK_THAT(SheetsOk({"export", "--db", db, "--excel", "--lang", "fr"}).out,
             Catch::StartsWith("\xEF\xBB\xBF" "pays;indicateur;domaine;capacité;texte;réponse;note\r\nQ01;c00_mnr_reference;"));
}

TEST_CASE("bad, damaged and hostile workbooks are refused naming file, sheet and cell, and nothing is written") {
  TempDir dir;
  const std::string db = TwoCountryStore(dir);
  SheetsOk({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"});
  const std::string before = SheetsOk({"export", "--db", db}).out;
  const std::string book = dir / "answers.xlsx";

  SECTION("an answer that is not one of the words") {
    Python("import sys, openpyxl\n"
           "wb = openpyxl.Workbook(); ws = wb.active; ws.title = 'answers'\n"
           "ws.append(['country', 'indicator', 'answer', 'note'])\n"
           "ws.append(['Q01', 'c00_mnr_reference', 'oui', ''])\n"
           "ws.append(['Q01', 'c12_reporting_hotline', 'peut-être', ''])\n"
           "wb.save(sys.argv[1])\n",
           {book});
    RunResult r = Sheets({"import", "--db", db, book});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("mnr-client: " + book + ": sheet \"answers\" cell C3 (answer): \"peut-être\" is not one of"));
    CHECK_THAT(r.err, Catch::Contains(book + ": 1 bad row; nothing imported"));
  }
  SECTION("a zip that is damaged") {
    mnr::test::WriteText(book, std::string("PK\x03\x04", 4) + std::string(300, 'x'));
    RunResult r = Sheets({"import", "--db", db, book});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("mnr-client: " + book + ": not an xlsx workbook (damaged zip"));
  }
  SECTION("a zip bomb") {
    Python("import sys, zipfile\n"
           "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
           "    z.writestr('xl/workbook.xml', '<workbook><sheets><sheet name=\"answers\" sheetId=\"1\"/></sheets></workbook>')\n"
           "    z.writestr('xl/worksheets/sheet1.xml', '<worksheet>' + ' ' * (64 << 20) + '</worksheet>')\n",
           {book});
    RunResult r = Sheets({"import", "--db", db, book});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(book + ": sheet \"answers\": ") && Catch::Contains("zip bomb"));
  }
  SECTION("a text file named .xlsx") {
    mnr::test::WriteText(book, "country,indicator,answer\nQ01,c12_reporting_hotline,yes\n");
    RunResult r = Sheets({"import", "--db", db, book});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "mnr-client: " + book + ": not an xlsx workbook (not a zip file)\n");
  }
  CHECK(SheetsOk({"export", "--db", db}).out == before);
}

TEST_CASE("template and export refuse to write over the store or an existing file, and xlsx needs --out") {
  TempDir dir;
  const std::string db = TwoCountryStore(dir);
  RunResult over_store = Sheets({"template", "--db", db, "--format", "xlsx", "--out", db, "--force"});
  CHECK(over_store.exit_code == 1);
  CHECK_THAT(over_store.err, Catch::Contains(db));
  const std::string existing = dir / "kept.xlsx";
  mnr::test::WriteText(existing, "kept");
  CHECK(Sheets({"export", "--db", db, "--format", "xlsx", "--out", existing}).exit_code == 1);
  CHECK(mnr::test::ReadText(existing) == "kept");
  CHECK(Sheets({"export", "--db", db, "--format", "xlsx"}).exit_code == 2);
  CHECK(Sheets({"template", "--db", db, "--lang", "de"}).exit_code == 2);
}

TEST_CASE("indicators lists every indicator with its domain, capability and text, in French on request") {
  RunResult en = SheetsOk({"indicators"});
  CHECK_THAT(en.out, Catch::StartsWith("id\tdomain\tcapability\ttext\n"
                                       "c00_mnr_reference\t1 Policy and governance\t1 Leadership\t"
                                       "The MNR is used as a good-practice reference\n"));
  RunResult fr = SheetsOk({"indicators", "--lang", "fr"});
  CHECK_THAT(fr.out, Catch::StartsWith("id\tdomaine\tcapacité\ttexte\n"
                                       "c00_mnr_reference\t1 Politique et gouvernance\t1 Direction\t"
                                       "Le MNR est utilisé comme référence de bonnes pratiques\n"));
  std::size_t lines = 0;
  for (char c : fr.out) lines += c == '\n';
  CHECK(lines == kIndicators + 1);
}
