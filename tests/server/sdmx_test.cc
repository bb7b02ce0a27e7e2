#include "server/sdmx.h"

#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "mnr/csv.h"
#include "server/aggregate.h"
#include "server/dataset.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

// Q01 (high) yes, Q02 (low) partial, Q03 (upper_middle) no to c11_child_helpline; Q04 silent.
Dataset SmallWorldDataset(ServerWorld& w) {
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", "c11_child_helpline"), Answer("yes"), T(1), "dev-a")}),
                         w.q01a))
              .outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 1,
                                       {Edit(AnswerField("Q02", "c11_child_helpline"), Answer("partial"), T(2), "dev-c"),
                                        Edit(AnswerField("Q03", "c11_child_helpline"), Answer("no"), T(2), "dev-c")}),
                         w.q02))
              .outcome);
  auto d = LoadDataset(w.store->db(), w.store->schema(), kFirstRound);
  REQUIRE(d.ok());
  return *d;
}

bool HasLine(const std::string& text, const std::string& line) { return text.find(line + "\r\n") != std::string::npos; }

// code list id -> its codes, read from the structure message.
std::map<std::string, std::set<std::string>> CodeLists(const std::string& xml) {
  std::map<std::string, std::set<std::string>> out;
  const std::regex list("<str:Codelist id=\"([A-Z_]+)\"[^>]*>(.*?)</str:Codelist>");
  const std::regex code("<str:Code id=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), list); it != std::sregex_iterator(); ++it) {
    const std::string body = (*it)[2];
    auto& codes = out[(*it)[1]];
    for (auto c = std::sregex_iterator(body.begin(), body.end(), code); c != std::sregex_iterator(); ++c) codes.insert((*c)[1]);
  }
  return out;
}

}  // namespace

TEST_CASE("SDMX-CSV has the round as TIME_PERIOD and separate measures for countries and pooled answers") {
  ServerWorld w;
  const Dataset d = SmallWorldDataset(w);
  REQUIRE(w.store->schema().round() == "2025");
  auto csv = SdmxCsv(d, {"2025", 0});
  REQUIRE(csv.ok());
  CHECK(csv->rfind("DATAFLOW,INDICATOR,GROUP,MEASURE,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,OBS_STATUS,CONF_STATUS\r\n", 0) == 0);
  const std::string flow = "MNR:DF_MNR_DATASET(2.0),";
  CHECK(HasLine(*csv, flow + "c11_child_helpline,_T,CTRY_YES,2025,1,COUNTRIES,A,F"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,_T,CTRY_RESPONDING,2025,3,COUNTRIES,A,F"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,_T,CTRY_NOT_ANSWERED,2025,1,COUNTRIES,A,F"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,_T,CTRY_YES_PCT,2025,33.3,PT,A,F"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,HIC,CTRY_GROUP,2025,1,COUNTRIES,A,F"));
  // Capability 11 has one indicator: 4 answers expected, 3 given, 1 yes; pooled measures all the same.
  CHECK(HasLine(*csv, flow + "CAP_11,_T,ANS_YES,2025,1,ANSWERS,A,F"));
  CHECK(HasLine(*csv, flow + "CAP_11,_T,ANS_GIVEN,2025,3,ANSWERS,A,F"));
  CHECK(HasLine(*csv, flow + "CAP_11,_T,ANS_YES_PCT,2025,33.3,PT,A,F"));
  CHECK(HasLine(*csv, flow + "CAP_11,_T,CTRY_GROUP,2025,4,COUNTRIES,A,F"));
  // No code means two things: pooled rows never carry a country measure other than the group size.
  CHECK(csv->find(",CAP_11,_T,CTRY_YES,") == std::string::npos);
  CHECK(csv->find(",c11_child_helpline,_T,ANS_YES,") == std::string::npos);
  CHECK(csv->find("N_YES") == std::string::npos);
  CHECK(HasLine(*csv, flow + "c12_reporting_hotline,_T,CTRY_YES_PCT,2025,,PT,M,F"));

  auto none = SdmxCsv(d, {"", 0});
  CHECK(none.status().code() == Status::Code::kInvalidArgument);
  CHECK_THAT(none.status().message(), Catch::Contains("round"));
}

TEST_CASE("SDMX-CSV for the public shows no figure of a group of fewer than the minimum countries") {
  ServerWorld w;
  const Dataset d = SmallWorldDataset(w);
  auto csv = SdmxCsv(d, {"2025", 3});
  REQUIRE(csv.ok());
  const std::string flow = "MNR:DF_MNR_DATASET(2.0),";
  CHECK(HasLine(*csv, flow + "c11_child_helpline,HIC,CTRY_YES,2025,,COUNTRIES,M,C"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,HIC,CTRY_GROUP,2025,,COUNTRIES,M,C"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,LMY,CTRY_YES,2025,0,COUNTRIES,A,F"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,LMY,CTRY_GROUP,2025,3,COUNTRIES,A,F"));
  CHECK(HasLine(*csv, flow + "c11_child_helpline,_T,CTRY_YES,2025,1,COUNTRIES,A,F"));
}

TEST_CASE("The SDMX structure message validates against the SDMX-ML 2.1 schemas and holds every code of the CSV") {
  ServerWorld w;
  const Dataset d = SmallWorldDataset(w);
  auto xml = SdmxStructureMessage(d, w.store->schema(), {"2025", 0}, 1'760'000'000);
  REQUIRE(xml.ok());
  auto again = SdmxStructureMessage(d, w.store->schema(), {"2025", 0}, 1'760'000'000);
  CHECK(*again == *xml);
  const std::string path = w.tmp / "structure.xml";
  mnr::test::WriteText(path, *xml);
  const std::string xsd = mnr::test::SourceDir() + "/../shared/sdmx-ml-2.1/SDMXMessage.xsd";
  auto lint = mnr::test::Run({"/usr/bin/xmllint", "--noout", "--schema", xsd, path});
  INFO(lint.err);
  CHECK(lint.exit_code == 0);
  CHECK_THAT(lint.err, Catch::Contains("validates"));

  // Broken on purpose, the same check fails: the test would notice a structure that does not validate.
  mnr::test::WriteText(w.tmp / "broken.xml", std::regex_replace(*xml, std::regex("MNR_STRUCTURE_2025"), "MNR STRUCTURE 2025"));
  CHECK(mnr::test::Run({"/usr/bin/xmllint", "--noout", "--schema", xsd, w.tmp / "broken.xml"}).exit_code != 0);

  const auto lists = CodeLists(*xml);
  REQUIRE(lists.size() == 6);
  CHECK(lists.at("CL_INDICATOR").size() == w.store->schema().indicators().size() + w.store->schema().capabilities().size() +
                                                w.store->schema().domains().size());
  CHECK(lists.at("CL_GROUP").count("REG_europe") == 1);
  auto csv = SdmxCsv(d, {"2025", 3});
  REQUIRE(csv.ok());
  auto rows = ParseCsv(*csv, "sdmx");
  REQUIRE(rows.ok());
  const std::pair<std::size_t, const char*> coded[] = {{1, "CL_INDICATOR"}, {2, "CL_GROUP"},      {3, "CL_MEASURE"},
                                                       {6, "CL_UNIT_MEASURE"}, {7, "CL_OBS_STATUS"}, {8, "CL_CONF_STATUS"}};
  std::size_t checked = 0;
  for (std::size_t i = 1; i < rows->size(); ++i) {
    for (const auto& [column, list] : coded) {
      INFO("line " << i + 1 << " column " << column << " " << (*rows)[i].fields[column]);
      CHECK(lists.at(list).count((*rows)[i].fields[column]) == 1);
      ++checked;
    }
  }
  CHECK(checked == 6 * (rows->size() - 1));
  CHECK(xml->find("<mes:ID>MNR_STRUCTURE_2025</mes:ID>") != std::string::npos);
  CHECK(xml->find("textType=\"ObservationalTimePeriod\"") != std::string::npos);
}

TEST_CASE("The aggregate CSV and JSON carry the labels in the chosen language and hide small groups when public") {
  ServerWorld w;
  const Dataset d = SmallWorldDataset(w);
  const std::string fr = DatasetLabelledCsv(d, w.store->schema(), "fr", 0);
  auto rows = ParseCsv(fr, "csv");
  REQUIRE(rows.ok());
  const auto& header = rows->front().fields;
  REQUIRE(header.size() == 18);
  CHECK(header[14] == "indicator_label");
  CHECK(header[17] == "small_group");
  std::vector<std::string> first;
  for (const auto& r : *rows) {
    if (r.fields.size() > 1 && r.fields[0] == "c11_child_helpline" && r.fields[1] == "all") first = r.fields;
  }
  REQUIRE(first.size() == 18);
  CHECK(first[0] == "c11_child_helpline");
  CHECK(first[2] == "1");
  CHECK(first[14] == w.store->schema().FindIndicator("c11_child_helpline")->label.fr);
  CHECK(first[15] == w.store->schema().FindCapability(11)->label.fr);
  CHECK(first[16] == w.store->schema().FindDomain(w.store->schema().FindCapability(11)->domain)->label.fr);
  CHECK(first[17].empty());

  const std::string pub = DatasetLabelledCsv(d, w.store->schema(), "en", 3);
  CHECK(pub.find("c11_child_helpline,high,,,,,,,,,,indicator,11,") != std::string::npos);
  CHECK(pub.find(",fewer than 3 countries\r\n") != std::string::npos);
  CHECK(pub.find("c11_child_helpline,lmic,0,1,1,0,2,0.0,1,3,0,indicator,11,") != std::string::npos);

  DatasetOrigin origin;
  const auto j = DatasetLabelledJson(d, w.store->schema(), origin, "fr", 3);
  CHECK(j["lang"] == "fr");
  CHECK(j["small_groups"]["min_countries"] == 3);
  nlohmann::json row;
  for (const auto& r : j["rows"]) {
    if (r["indicator"] == "c11_child_helpline" && r["group"] == "all") row = r;
  }
  REQUIRE(row.is_object());
  CHECK(row["indicator_label"] == w.store->schema().FindIndicator("c11_child_helpline")->label.fr);
  CHECK(row["n_yes"] == 1);
  bool hidden_high = false;
  for (const auto& r : j["rows"]) {
    if (r["indicator"] == "c11_child_helpline" && r["group"] == "high") {
      hidden_high = r["n_yes"].is_null() && r["n_countries"].is_null() && r["small_group"] == "moins de 3 pays";
    }
  }
  CHECK(hidden_high);
}

}  // namespace mnr::server
