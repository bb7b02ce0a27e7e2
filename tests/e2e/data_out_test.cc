// The dataset going out to statistics offices, spreadsheets and the public, through the real binaries:
// SDMX-CSV and its structure (validated with xmllint against the official SDMX-ML 2.1 schemas), the
// labelled exports, the xlsx workbook, and groups too small to show.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "mnr/csv.h"
#include "tests/e2e/sync_harness.h"

namespace mnr::test {
namespace {

// Q01 (high) yes, Q02 (upper_middle) partial, Q03 (low) yes to c11_child_helpline, synced.
std::string AnsweredAndSynced(SyncHarness& h) {
  const std::string db = h.NewFieldStore("office", {"Q01", "Q02", "Q03"});
  Ok(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}));
  Ok(h.Client({"answer", "--db", db, "Q02", "c11_child_helpline", "partial"}));
  Ok(h.Client({"answer", "--db", db, "Q03", "c11_child_helpline", "yes"}));
  Ok(h.Sync(db));
  return db;
}

// Reads an xlsx with Python's zipfile and XML parser only: {sheet name: [[cell, ...], ...]}, where a
// number cell is a JSON number and a text cell a string.
constexpr const char* kReadXlsx = R"PY(
import json, sys, zipfile, xml.etree.ElementTree as ET
ns = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main',
      'r': 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'}
z = zipfile.ZipFile(sys.argv[1])
shared = []
if 'xl/sharedStrings.xml' in z.namelist():
    for si in ET.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si', ns):
        shared.append(''.join(t.text or '' for t in si.iter('{%s}t' % ns['m'])))
rels = {r.get('Id'): r.get('Target') for r in ET.fromstring(z.read('xl/_rels/workbook.xml.rels'))}
out = {}
for sheet in ET.fromstring(z.read('xl/workbook.xml')).find('m:sheets', ns):
    target = rels[sheet.get('{%s}id' % ns['r'])].lstrip('/')
    path = target if target.startswith('xl/') else 'xl/' + target
    rows = []
    for row in ET.fromstring(z.read(path)).iter('{%s}row' % ns['m']):
        cells = []
        for c in row.findall('m:c', ns):
            v = c.find('m:v', ns)
            t = c.get('t')
            if t == 's': cells.append(shared[int(v.text)])
            elif t == 'inlineStr': cells.append(''.join(x.text or '' for x in c.iter('{%s}t' % ns['m'])))
            elif v is None: cells.append(None)
            else: cells.append(float(v.text))
        rows.append(cells)
    out[sheet.get('name')] = rows
print(json.dumps(out))
)PY";

}  // namespace

TEST_CASE("SDMX out of the real server: the structure validates against SDMX-ML 2.1 and holds every code the CSV uses") {
  SyncHarness h;
  AnsweredAndSynced(h);
  const std::string csv_path = h.dir() / "mnr.sdmx.csv", xml_path = h.dir() / "mnr.sdmx.xml";
  Ok(h.Server({"aggregate", "--data", h.data(), "--format", "sdmx-csv", "--public", "--out", csv_path}));
  Ok(h.Server({"sdmx-structure", "--data", h.data(), "--out", xml_path}));
  auto lint = Run({"/usr/bin/xmllint", "--noout", "--schema", SourceDir() + "/../shared/sdmx-ml-2.1/SDMXMessage.xsd", xml_path});
  INFO(lint.err);
  CHECK(lint.exit_code == 0);

  const std::string csv = ReadText(csv_path), xml = ReadText(xml_path);
  // All three countries: shown. High income has one country: no figure, confidential.
  CHECK(csv.find("MNR:DF_MNR_DATASET(2.0),c11_child_helpline,_T,CTRY_YES,2025,2,COUNTRIES,A,F\r\n") != std::string::npos);
  CHECK(csv.find("MNR:DF_MNR_DATASET(2.0),c11_child_helpline,_T,CTRY_YES_PCT,2025,66.7,PT,A,F\r\n") != std::string::npos);
  CHECK(csv.find("MNR:DF_MNR_DATASET(2.0),c11_child_helpline,HIC,CTRY_YES,2025,,COUNTRIES,M,C\r\n") != std::string::npos);
  CHECK(csv.find("MNR:DF_MNR_DATASET(2.0),CAP_11,_T,ANS_YES,2025,2,ANSWERS,A,F\r\n") != std::string::npos);
  // The coordinator's export keeps the counts.
  auto full = Ok(h.Server({"aggregate", "--data", h.data(), "--format", "sdmx-csv"}));
  CHECK(full.out.find("MNR:DF_MNR_DATASET(2.0),c11_child_helpline,HIC,CTRY_YES,2025,1,COUNTRIES,A,F\r\n") != std::string::npos);

  std::map<std::string, std::set<std::string>> lists;
  const std::regex list("<str:Codelist id=\"([A-Z_]+)\"[^>]*>(.*?)</str:Codelist>"), code("<str:Code id=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), list); it != std::sregex_iterator(); ++it) {
    const std::string body = (*it)[2];
    for (auto c = std::sregex_iterator(body.begin(), body.end(), code); c != std::sregex_iterator(); ++c) lists[(*it)[1]].insert((*c)[1]);
  }
  auto rows = ParseCsv(csv, "sdmx");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() > 1000);
  int missing = 0;
  const std::pair<std::size_t, const char*> coded[] = {{1, "CL_INDICATOR"}, {2, "CL_GROUP"},      {3, "CL_MEASURE"},
                                                       {6, "CL_UNIT_MEASURE"}, {7, "CL_OBS_STATUS"}, {8, "CL_CONF_STATUS"}};
  for (std::size_t i = 1; i < rows->size(); ++i) {
    for (const auto& [column, name] : coded) missing += lists[name].count((*rows)[i].fields[column]) == 0;
  }
  CHECK(missing == 0);
  CHECK(lists["CL_GROUP"].count("REG_europe_central_asia") == 1);

  auto usage = h.Server({"sdmx-structure", "--data", h.data()});
  CHECK(usage.exit_code == 2);
}

TEST_CASE("The aggregate as an xlsx workbook: one sheet per table, labels in French, numbers as numbers") {
  SyncHarness h;
  AnsweredAndSynced(h);
  const std::string path = h.dir() / "mnr.xlsx";
  Ok(h.Server({"aggregate", "--data", h.data(), "--format", "xlsx", "--lang", "fr", "--out", path}));
  auto read = Run({"/usr/bin/python3", "-c", kReadXlsx, path});
  INFO(read.err);
  REQUIRE(read.exit_code == 0);
  const auto book = nlohmann::json::parse(read.out);
  REQUIRE(book.size() == 3);
  CHECK(book.contains("indicators"));
  CHECK(book.contains("capabilities"));
  CHECK(book.contains("domains"));
  const auto& header = book["indicators"][0];
  CHECK(header[0] == "indicator");
  CHECK(header[14] == "indicator_label");
  nlohmann::json first;
  for (const auto& r : book["indicators"]) {
    if (r.size() > 1 && r[0] == "c11_child_helpline" && r[1] == "all") first = r;
  }
  REQUIRE(first.is_array());
  CHECK(first[0] == "c11_child_helpline");
  CHECK(first[1] == "all");
  CHECK(first[2] == 2.0);   // n_yes, a number
  CHECK(first[7] == 66.7);  // pct_yes, a number
  CHECK(first[9] == 3.0);   // n_countries
  CHECK(first[14].is_string());
  CHECK(first[14].get<std::string>().find("assistance") != std::string::npos);
  CHECK(book["capabilities"][1][0] == "capability:1");
  CHECK(book["domains"][1][0] == "domain:1");

  CHECK(h.Server({"aggregate", "--data", h.data(), "--format", "xlsx"}).exit_code == 2);
}

TEST_CASE("A group of fewer than 3 countries shows no figure in the report, the field office's view and public exports") {
  SyncHarness h;
  const std::string db = AnsweredAndSynced(h);
  auto release = Ok(h.Server({"release", "--data", h.data(), "--label", "r1", "--allow-unapproved"}));
  CHECK(release.out.find("small groups    fewer than 3 countries") != std::string::npos);
  auto shown = Ok(h.Server({"releases", "show", "--data", h.data(), "r1"}));
  CHECK(shown.out.find("\"small_groups\":{\"min_countries\":3}") != std::string::npos);
  CHECK(shown.out.find("\"round\":\"2025\"") != std::string::npos);

  const std::string site = h.dir() / "site";
  Ok(h.Server({"publish", "--data", h.data(), "--out", site}));
  const std::string page = ReadText(site + "/index.html");
  CHECK(page.find("fewer than 3 countries") != std::string::npos);
  CHECK(page.find("data-group=\"high\" data-yes=") == std::string::npos);
  CHECK(page.find("data-group=\"all\" data-yes=\"2\" data-responding=\"3\"") != std::string::npos);
  const std::string public_csv = ReadText(site + "/dataset.csv");
  CHECK(public_csv.find("c11_child_helpline,high,,,,,,,,,,indicator,11,") != std::string::npos);
  CHECK(public_csv.find("c11_child_helpline,all,2,1,0,0,3,66.7,0,3,67,indicator,11,") != std::string::npos);
  const auto public_json = nlohmann::json::parse(ReadText(site + "/dataset.json"));
  CHECK(public_json["small_groups"]["min_countries"] == 3);

  // The coordinator's export keeps the counts; --public applies the release's rule.
  auto coordinator = Ok(h.Server({"aggregate", "--data", h.data(), "--release", "r1"}));
  CHECK(coordinator.out.find("c11_child_helpline,high,1,0,0,0,1,100.0,0,1,100,indicator,11,") != std::string::npos);
  auto pub = Ok(h.Server({"aggregate", "--data", h.data(), "--release", "r1", "--public"}));
  CHECK(pub.out == public_csv);
  CHECK(h.Server({"aggregate", "--data", h.data(), "--release", "r1", "--public", "--min-group", "1"}).exit_code == 2);
  auto one = Ok(h.Server({"aggregate", "--data", h.data(), "--public", "--min-group", "1"}));
  CHECK(one.out.find("c11_child_helpline,high,1,0,0,0,1,100.0,0,1,100,indicator,11,") != std::string::npos);

  // The field office receives the release and reads it offline under the same rule.
  Ok(h.Sync(db));
  auto view = Ok(h.Client({"dataset", "--db", db}));
  INFO(view.out.substr(0, 3000));
  CHECK(view.out.find("high: fewer than 3 countries") != std::string::npos);
  CHECK(view.out.find("all: 2 of 3 (67%)") != std::string::npos);
  auto view_json = nlohmann::json::parse(Ok(h.Client({"dataset", "--db", db, "--format", "json"})).out);
  bool high_hidden = false;
  for (const auto& r : view_json["rows"]) {
    if (r["indicator"] == "c11_child_helpline" && r["group"] == "high") high_hidden = r["n_yes"].is_null() && r.contains("small_group");
  }
  CHECK(high_hidden);
}

}  // namespace mnr::test
