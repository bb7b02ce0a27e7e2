#include "client/answer_sheet.h"

#include <algorithm>
#include <set>

#include "mnr/csv.h"

namespace mnr::client {
namespace {

struct ColumnName {
  Column column;
  const char* en;
  const char* fr;
};
// The ids of the CSV format import has always read are the English titles; do not rename them.
constexpr ColumnName kColumns[] = {
    {Column::kCountry, "country", "pays"},        {Column::kIndicator, "indicator", "indicateur"},
    {Column::kDomain, "domain", "domaine"},       {Column::kCapability, "capability", "capacité"},
    {Column::kText, "text", "texte"},             {Column::kAnswer, "answer", "réponse"},
    {Column::kNote, "note", "note"},
};

// ASCII letters folded to lower case and surrounding spaces (also no-break spaces) removed: what a
// spreadsheet user may add without meaning anything by it.
std::string Folded(std::string_view s) {
  const auto space_at_front = [&] {
    if (!s.empty() && (s.front() == ' ' || s.front() == '\t')) return std::size_t{1};
    return s.substr(0, 2) == "\xC2\xA0" ? std::size_t{2} : std::size_t{0};
  };
  const auto space_at_back = [&] {
    if (!s.empty() && (s.back() == ' ' || s.back() == '\t')) return std::size_t{1};
    return s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0" ? std::size_t{2} : std::size_t{0};
  };
  while (std::size_t n = space_at_front()) s.remove_prefix(n);
  while (std::size_t n = space_at_back()) s.remove_suffix(n);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  // "RÉPONSE", "CAPACITÉ": the one accented capital the titles use.
  for (std::size_t i = 0; (i = out.find("\xC3\x89", i)) != std::string::npos;) out.replace(i, 2, "\xC3\xA9");
  return out;
}

std::vector<std::string> StoreCountries(ClientStore& store, const std::vector<AnswerRow>& answers) {
  if (!store.identity().countries.empty()) return store.identity().countries;
  std::set<std::string> seen;
  for (const auto& a : answers) seen.insert(a.country);
  return {seen.begin(), seen.end()};
}

}  // namespace

bool IsSupportedLanguage(std::string_view lang) { return lang == "en" || lang == "fr"; }

std::string_view AnswerWord(Answer a, std::string_view lang) {
  if (lang != "fr") return AnswerName(a);
  switch (a) {
    case Answer::kYes: return "oui";
    case Answer::kPartial: return "partiel";
    case Answer::kNo: return "non";
    case Answer::kUnknown: return "inconnu";
  }
  return "";
}

std::optional<Answer> ParseAnswerWord(std::string_view cell) {
  const std::string w = Folded(cell);
  if (auto a = ParseAnswer(w)) return a;
  if (w == "oui") return Answer::kYes;
  if (w == "partiel" || w == "partiellement") return Answer::kPartial;
  if (w == "non") return Answer::kNo;
  if (w == "inconnu") return Answer::kUnknown;
  return std::nullopt;
}

std::string ColumnTitle(Column c, std::string_view lang) {
  for (const auto& n : kColumns) {
    if (n.column == c) return lang == "fr" ? n.fr : n.en;
  }
  return "";
}

std::optional<Column> ParseColumn(std::string_view header) {
  const std::string h = Folded(header);
  for (const auto& n : kColumns) {
    if (h == n.en || h == n.fr) return n.column;
  }
  // Typed without the accent, as on an English keyboard.
  if (h == "reponse") return Column::kAnswer;
  if (h == "capacite") return Column::kCapability;
  return std::nullopt;
}

Result<xlsx::Sheet> AnswerSheet(ClientStore& store, const AnswerSheetOptions& options) {
  auto answers = store.Answers(options.country);
  if (!answers.ok()) return answers.status();
  const std::string& lang = options.lang;
  const SurveySchema& schema = store.schema();
  xlsx::Sheet sheet;
  sheet.name = lang == "fr" ? "réponses" : "answers";
  for (Column c : {Column::kCountry, Column::kIndicator, Column::kDomain, Column::kCapability, Column::kText,
                   Column::kAnswer, Column::kNote}) {
    sheet.header.push_back(ColumnTitle(c, lang));
  }
  const auto row = [&](const std::string& country, const Indicator& indicator, const AnswerValue* value) {
    const Capability* capability = schema.FindCapability(indicator.capability);
    const Domain* domain = capability ? schema.FindDomain(capability->domain) : nullptr;
    std::vector<xlsx::Cell> cells = {country, indicator.id,
                                     domain ? NeutraliseFormula(domain->label.In(lang)) : std::string(),
                                     capability ? NeutraliseFormula(capability->label.In(lang)) : std::string(),
                                     NeutraliseFormula(indicator.label.In(lang))};
    // Built in place, not through a temporary Cell: g++ 12 at -O2 misreads moving the temporary's
    // variant as reading an uninitialised double.
    if (value) {
      cells.emplace_back(std::string(AnswerWord(value->answer, lang)));
    } else {
      cells.emplace_back();
    }
    if (value && !value->note.empty()) {
      cells.emplace_back(NeutraliseFormula(value->note));
    } else {
      cells.emplace_back();
    }
    sheet.rows.push_back(std::move(cells));
  };
  if (!options.every_indicator) {
    for (const auto& a : *answers) {
      if (const Indicator* indicator = schema.FindIndicator(a.indicator)) row(a.country, *indicator, &a.value);
    }
    return sheet;
  }
  // Carried answers prefill the template, so importing it back confirms them.
  auto carried = store.CarriedAnswers(options.country);
  if (!carried.ok()) return carried.status();
  std::vector<std::string> countries = options.country ? std::vector<std::string>{*options.country}
                                                       : StoreCountries(store, *answers);
  std::sort(countries.begin(), countries.end());
  for (const auto& country : countries) {
    for (const Indicator& indicator : schema.indicators()) {
      const auto it = std::find_if(answers->begin(), answers->end(), [&](const AnswerRow& a) {
        return a.country == country && a.indicator == indicator.id;
      });
      if (it != answers->end()) {
        row(country, indicator, &it->value);
        continue;
      }
      const auto c = std::find_if(carried->begin(), carried->end(), [&](const CarriedAnswer& a) {
        return a.country == country && a.indicator == indicator.id;
      });
      row(country, indicator, c == carried->end() ? nullptr : &c->value);
    }
  }
  return sheet;
}

Result<xlsx::Sheet> PracticeSheet(ClientStore& store, std::string_view lang, const std::optional<std::string>& country) {
  auto practices = store.Practices(country);
  if (!practices.ok()) return practices.status();
  const bool fr = lang == "fr";
  xlsx::Sheet sheet;
  sheet.name = fr ? "bonnes pratiques" : "practices";
  sheet.header = fr ? std::vector<std::string>{"id", "pays", "capacité", "type", "titre", "texte", "langue"}
                    : std::vector<std::string>{"id", "country", "capability", "kind", "title", "text", "lang"};
  for (const auto& e : *practices) {
    const Capability* capability = store.schema().FindCapability(e.capability);
    sheet.rows.push_back({e.id, e.country,
                          capability ? NeutraliseFormula(capability->label.In(lang)) : std::to_string(e.capability),
                          e.kind, NeutraliseFormula(e.title), NeutraliseFormula(e.text), e.lang});
  }
  return sheet;
}

std::string SheetCsv(const xlsx::Sheet& sheet, bool excel, std::string_view lang) {
  const char delimiter = excel && lang == "fr" ? ';' : ',';
  const std::string_view eol = excel ? "\r\n" : "\n";
  std::string out = excel ? std::string(kUtf8Bom) : std::string();
  out += CsvLine(sheet.header, delimiter, eol);
  for (const auto& row : sheet.rows) {
    std::vector<std::string> fields;
    fields.reserve(row.size());
    for (const auto& cell : row) fields.push_back(xlsx::CellText(cell));
    out += CsvLine(fields, delimiter, eol);
  }
  return out;
}

}  // namespace mnr::client
