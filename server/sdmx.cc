#include "server/sdmx.h"

#include <ctime>
#include <set>
#include <vector>

#include "mnr/csv.h"
#include "server/aggregate.h"

namespace mnr::server {
namespace {

struct SdmxWords {
  const char* en;
  const char* fr;
};

struct Measure {
  const char* id;
  SdmxWords name;
  const char* unit;
};

// Indicator rows count countries; capability and domain rows pool (country, indicator) answers, so
// they have measures of their own (docs/dataset.md, "Capabilities in place"). CTRY_GROUP, the
// group's size, means the same on both.
constexpr Measure kCountryMeasures[] = {
    {"CTRY_YES", {"Countries that answered yes", "Pays ayant répondu oui"}, "COUNTRIES"},
    {"CTRY_PARTIAL", {"Countries that answered partial", "Pays ayant répondu partiellement"}, "COUNTRIES"},
    {"CTRY_NO", {"Countries that answered no", "Pays ayant répondu non"}, "COUNTRIES"},
    {"CTRY_UNKNOWN", {"Countries that answered unknown", "Pays ayant répondu ne sait pas"}, "COUNTRIES"},
    {"CTRY_RESPONDING", {"Countries that answered", "Pays ayant répondu"}, "COUNTRIES"},
    {"CTRY_NOT_ANSWERED", {"Countries that did not answer", "Pays n'ayant pas répondu"}, "COUNTRIES"},
    {"CTRY_GROUP", {"Registered countries in the group", "Pays enregistrés dans le groupe"}, "COUNTRIES"},
    {"CTRY_YES_PCT", {"Share of answering countries that answered yes", "Part des pays répondants ayant répondu oui"}, "PT"},
};
constexpr Measure kPooledMeasures[] = {
    {"ANS_YES", {"Answers yes (indicators in place)", "Réponses oui (indicateurs en place)"}, "ANSWERS"},
    {"ANS_PARTIAL", {"Answers partial", "Réponses partiellement"}, "ANSWERS"},
    {"ANS_NO", {"Answers no", "Réponses non"}, "ANSWERS"},
    {"ANS_UNKNOWN", {"Answers unknown", "Réponses ne sait pas"}, "ANSWERS"},
    {"ANS_GIVEN", {"Answers given", "Réponses données"}, "ANSWERS"},
    {"ANS_NOT_GIVEN", {"Answers expected but not given", "Réponses attendues mais absentes"}, "ANSWERS"},
    {"CTRY_GROUP", {"Registered countries in the group", "Pays enregistrés dans le groupe"}, "COUNTRIES"},
    {"ANS_YES_PCT", {"Share of indicators in place (answers yes among answers given)",
                     "Part des indicateurs en place (réponses oui parmi les réponses données)"}, "PT"},
};

struct Code {
  std::string id;
  SdmxWords name;
};

const std::vector<Code>& Units() {
  static const std::vector<Code> u = {{"COUNTRIES", {"Countries", "Pays"}},
                                      {"ANSWERS", {"Answers (country and indicator)", "Réponses (pays et indicateur)"}},
                                      {"PT", {"Percent", "Pourcentage"}}};
  return u;
}
const std::vector<Code>& ObsStatuses() {
  static const std::vector<Code> s = {{"A", {"Normal value", "Valeur normale"}}, {"M", {"Missing value", "Valeur manquante"}}};
  return s;
}
const std::vector<Code>& ConfStatuses() {
  static const std::vector<Code> s = {
      {"F", {"Free", "Libre"}},
      {"C", {"Confidential: group of too few countries", "Confidentiel : groupe de trop peu de pays"}}};
  return s;
}

std::string GroupName(const std::string& group, bool fr) {
  static const std::vector<std::pair<std::string, SdmxWords>> kFixed = {
      {"all", {"All countries", "Tous les pays"}},
      {"high", {"High income", "Revenu élevé"}},
      {"upper_middle", {"Upper-middle income", "Revenu intermédiaire supérieur"}},
      {"lower_middle", {"Lower-middle income", "Revenu intermédiaire inférieur"}},
      {"low", {"Low income", "Faible revenu"}},
      {"lmic", {"Low and middle income", "Revenu faible et intermédiaire"}}};
  for (const auto& [id, w] : kFixed) {
    if (id == group) return fr ? w.fr : w.en;
  }
  const std::string region = group.substr(std::min(group.size(), std::string("region:").size()));
  return (fr ? "Région : " : "Region: ") + region;
}

Status NeedTimePeriod(const SdmxOptions& o) {
  if (o.time_period.empty()) {
    return Status::InvalidArgument("no survey round for TIME_PERIOD: the survey schema names no \"round\" (docs/sdmx.md)");
  }
  return Status::OK();
}

std::string Xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Names(const SdmxWords& w) {
  return std::string("<com:Name xml:lang=\"en\">") + Xml(w.en) + "</com:Name><com:Name xml:lang=\"fr\">" + Xml(w.fr) + "</com:Name>";
}

std::string Maintainable(const char* element, const std::string& id) {
  return std::string("<str:") + element + " id=\"" + id + "\" agencyID=\"" + kSdmxAgency + "\" version=\"" + kSdmxVersion + "\">";
}

std::string Codelist(const std::string& id, const SdmxWords& name, const std::vector<Code>& codes) {
  std::string s = Maintainable("Codelist", id) + Names(name);
  for (const auto& c : codes) s += "<str:Code id=\"" + Xml(c.id) + "\">" + Names(c.name) + "</str:Code>";
  return s + "</str:Codelist>";
}

std::string ConceptRef(const std::string& concept_id) {
  return "<str:ConceptIdentity><Ref id=\"" + concept_id + "\" maintainableParentID=\"CS_MNR\" maintainableParentVersion=\"" +
         kSdmxVersion + "\" agencyID=\"" + kSdmxAgency + "\" class=\"Concept\" package=\"conceptscheme\"/></str:ConceptIdentity>";
}
std::string CodelistRef(const std::string& codelist) {
  return "<str:LocalRepresentation><str:Enumeration><Ref id=\"" + codelist + "\" version=\"" + kSdmxVersion + "\" agencyID=\"" +
         kSdmxAgency + "\" class=\"Codelist\" package=\"codelist\"/></str:Enumeration></str:LocalRepresentation>";
}

}  // namespace

Result<std::string> SdmxCsv(const Dataset& d, const SdmxOptions& options) {
  MNR_RETURN_IF_ERROR(NeedTimePeriod(options));
  const std::string flow = std::string(kSdmxAgency) + ":" + kSdmxDataflow + "(" + kSdmxVersion + ")";
  std::string out = CsvLine(
      {"DATAFLOW", "INDICATOR", "GROUP", "MEASURE", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS"}, ',', "\r\n");
  for (const auto& r : d.rows) {
    const std::string ind = SdmxIndicatorCode(r.subject), grp = SdmxGroupCode(r.group);
    const bool pooled = r.level != DatasetLevel::kIndicator;
    const bool hidden = IsSmallGroup(r, options.min_group);
    const std::string values[] = {std::to_string(r.n_yes),         std::to_string(r.n_partial),    std::to_string(r.n_no),
                                  std::to_string(r.n_unknown),     std::to_string(r.n_responding()), std::to_string(r.n_not_answered),
                                  std::to_string(r.n_countries),   PercentYes(r.n_yes, r.n_responding())};
    const Measure* measures = pooled ? kPooledMeasures : kCountryMeasures;
    for (int i = 0; i < 8; ++i) {
      const std::string value = hidden ? "" : values[i];
      out += CsvLine({flow, ind, grp, measures[i].id, options.time_period, value, measures[i].unit, value.empty() ? "M" : "A",
                      hidden ? "C" : "F"},
                     ',', "\r\n");
    }
  }
  return out;
}

Result<std::string> SdmxStructureMessage(const Dataset& d, const SurveySchema& schema, const SdmxOptions& options,
                                         std::int64_t prepared) {
  MNR_RETURN_IF_ERROR(NeedTimePeriod(options));
  std::vector<Code> indicators, groups, measures;
  for (const auto& ind : schema.indicators()) indicators.push_back({ind.id, {ind.label.en.c_str(), ind.label.fr.c_str()}});
  for (const auto& cap : schema.capabilities()) {
    indicators.push_back({SdmxIndicatorCode("capability:" + std::to_string(cap.id)), {cap.label.en.c_str(), cap.label.fr.c_str()}});
  }
  for (const auto& dom : schema.domains()) {
    indicators.push_back({SdmxIndicatorCode("domain:" + std::to_string(dom.id)), {dom.label.en.c_str(), dom.label.fr.c_str()}});
  }
  // Group names are built here, so they are kept alive beside the codes that point at them.
  std::vector<std::pair<std::string, std::string>> group_names;
  const std::vector<std::string> group_ids = d.Groups();
  group_names.reserve(group_ids.size());
  for (const auto& g : group_ids) group_names.emplace_back(GroupName(g, false), GroupName(g, true));
  for (std::size_t i = 0; i < group_ids.size(); ++i) {
    groups.push_back({SdmxGroupCode(group_ids[i]), {group_names[i].first.c_str(), group_names[i].second.c_str()}});
  }
  std::set<std::string> seen;
  for (const auto* list : {kCountryMeasures, kPooledMeasures}) {
    for (int i = 0; i < 8; ++i) {
      if (seen.insert(list[i].id).second) measures.push_back({list[i].id, list[i].name});
    }
  }

  std::time_t tt = static_cast<std::time_t>(prepared);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);

  std::string s =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<mes:Structure xmlns:mes=\"http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message\" "
      "xmlns:str=\"http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure\" "
      "xmlns:com=\"http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common\">\n";
  s += "<mes:Header><mes:ID>MNR_STRUCTURE_" + options.time_period + "</mes:ID><mes:Test>false</mes:Test><mes:Prepared>" + when +
       "</mes:Prepared><mes:Sender id=\"" + kSdmxAgency + "\"/></mes:Header>\n<mes:Structures>\n";
  s += "<str:Dataflows>" + Maintainable("Dataflow", kSdmxDataflow) +
       Names(SdmxWords{"Model National Response: the global aggregate dataset", "Réponse nationale modèle : les données mondiales agrégées"}) +
       "<str:Structure><Ref id=\"" + kSdmxStructure + "\" version=\"" + kSdmxVersion + "\" agencyID=\"" + kSdmxAgency +
       "\" class=\"DataStructure\" package=\"datastructure\"/></str:Structure></str:Dataflow></str:Dataflows>\n";
  s += "<str:Codelists>\n";
  s += Codelist("CL_INDICATOR", {"Indicators, capabilities and domains", "Indicateurs, capacités et domaines"}, indicators) + "\n";
  s += Codelist("CL_GROUP", {"Groups of countries", "Groupes de pays"}, groups) + "\n";
  s += Codelist("CL_MEASURE", {"Measures", "Mesures"}, measures) + "\n";
  s += Codelist("CL_UNIT_MEASURE", {"Units of measure", "Unités de mesure"}, Units()) + "\n";
  s += Codelist("CL_OBS_STATUS", {"Observation status", "Statut de l'observation"}, ObsStatuses()) + "\n";
  s += Codelist("CL_CONF_STATUS", {"Confidentiality status", "Statut de confidentialité"}, ConfStatuses()) + "\n";
  s += "</str:Codelists>\n";
  const std::vector<Code> concepts = {{"INDICATOR", {"Indicator, capability or domain", "Indicateur, capacité ou domaine"}},
                                      {"GROUP", {"Group of countries", "Groupe de pays"}},
                                      {"MEASURE", {"Measure", "Mesure"}},
                                      {"TIME_PERIOD", {"Survey round", "Cycle de l'enquête"}},
                                      {"OBS_VALUE", {"Observation value", "Valeur de l'observation"}},
                                      {"UNIT_MEASURE", {"Unit of measure", "Unité de mesure"}},
                                      {"OBS_STATUS", {"Observation status", "Statut de l'observation"}},
                                      {"CONF_STATUS", {"Confidentiality status", "Statut de confidentialité"}}};
  s += "<str:Concepts>" + Maintainable("ConceptScheme", "CS_MNR") + Names(SdmxWords{"MNR concepts", "Concepts de la RNM"});
  for (const auto& c : concepts) s += "<str:Concept id=\"" + c.id + "\">" + Names(c.name) + "</str:Concept>";
  s += "</str:ConceptScheme></str:Concepts>\n";
  s += "<str:DataStructures>" + Maintainable("DataStructure", kSdmxStructure) +
       Names(SdmxWords{"MNR global aggregate dataset", "Données mondiales agrégées de la RNM"}) + "<str:DataStructureComponents>";
  s += "<str:DimensionList id=\"DimensionDescriptor\">";
  const std::pair<const char*, const char*> dims[] = {{"INDICATOR", "CL_INDICATOR"}, {"GROUP", "CL_GROUP"}, {"MEASURE", "CL_MEASURE"}};
  int position = 1;
  for (const auto& [dim, cl] : dims) {
    s += std::string("<str:Dimension id=\"") + dim + "\" position=\"" + std::to_string(position++) + "\">" + ConceptRef(dim) +
         CodelistRef(cl) + "</str:Dimension>";
  }
  s += "<str:TimeDimension id=\"TIME_PERIOD\" position=\"" + std::to_string(position) + "\">" + ConceptRef("TIME_PERIOD") +
       "<str:LocalRepresentation><str:TextFormat textType=\"ObservationalTimePeriod\"/></str:LocalRepresentation></str:TimeDimension>";
  s += "</str:DimensionList><str:AttributeList id=\"AttributeDescriptor\">";
  for (const auto& [attr, cl] : {std::pair<const char*, const char*>{"UNIT_MEASURE", "CL_UNIT_MEASURE"},
                                 {"OBS_STATUS", "CL_OBS_STATUS"}, {"CONF_STATUS", "CL_CONF_STATUS"}}) {
    s += std::string("<str:Attribute id=\"") + attr + "\" assignmentStatus=\"Mandatory\">" + ConceptRef(attr) + CodelistRef(cl) +
         "<str:AttributeRelationship><str:PrimaryMeasure><Ref id=\"OBS_VALUE\"/></str:PrimaryMeasure></str:AttributeRelationship></str:Attribute>";
  }
  s += "</str:AttributeList><str:MeasureList id=\"MeasureDescriptor\"><str:PrimaryMeasure id=\"OBS_VALUE\">" + ConceptRef("OBS_VALUE") +
       "</str:PrimaryMeasure></str:MeasureList>";
  s += "</str:DataStructureComponents></str:DataStructure></str:DataStructures>\n</mes:Structures>\n</mes:Structure>\n";
  return s;
}

}  // namespace mnr::server
