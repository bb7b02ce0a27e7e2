#include "server/publish.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>

#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/media_type.h"
#include "server/aggregate.h"
#include "server/attachments.h"
#include "server/audit_log.h"

namespace mnr::server {
namespace {

constexpr const char* kMarker = ".mnr-publish";

// Interface text in both languages; survey labels come from the schema.
struct Words {
  const char* en;
  const char* fr;
};
const std::map<std::string, Words, std::less<>>& Dictionary() {
  static const std::map<std::string, Words, std::less<>> d = {
      {"title", {"Model National Response: the global dataset", "Réponse nationale modèle : les données mondiales"}},
      {"release", {"Release", "Version"}},
      {"round", {"survey round", "cycle de l'enquête"}},
      {"since", {"Since {round}", "Depuis {round}"}},
      {"points", {"pts", "pts"}},
      {"change_line", {"Change since {round} (release {label}): {change}", "Évolution depuis {round} (version {label}) : {change}"}},
      {"provisional",
       {"Provisional: this release was made before the review was complete. Not yet approved: {countries}. "
        "Open conflicts: {conflicts}.",
        "Provisoire : cette version a été établie avant la fin de la revue. Pas encore approuvés : {countries}. "
        "Conflits ouverts : {conflicts}."}},
      {"none", {"none", "aucun"}},
      {"state_submitted", {"submitted", "soumis"}},
      {"state_returned", {"returned", "renvoyé"}},
      {"state_draft", {"draft", "brouillon"}},
      {"colon", {": ", " : "}},
      {"group_sep", {"; ", " ; "}},
      {"made", {"made on", "établie le"}},
      {"countries", {"countries in the register", "pays enregistrés"}},
      {"content_hash", {"Content SHA-256 (of the release's canonical CSV)", "SHA-256 du contenu (du CSV canonique de la version)"}},
      {"release_id", {"Release id (SHA-256 of the signed manifest)", "Identifiant (SHA-256 du manifeste signé)"}},
      {"downloads", {"Downloads", "Téléchargements"}},
      {"csv", {"dataset (CSV)", "données (CSV)"}},
      {"json", {"dataset (JSON)", "données (JSON)"}},
      {"manifest", {"signed manifest", "manifeste signé"}},
      {"signature", {"signature", "signature"}},
      {"certificate", {"server certificate", "certificat du serveur"}},
      {"nav_overview", {"Overview", "Vue d'ensemble"}},
      {"nav_indicators", {"Indicators", "Indicateurs"}},
      {"nav_practices", {"Good practices", "Bonnes pratiques"}},
      {"overview", {"Capabilities in place, by domain", "Capacités en place, par domaine"}},
      {"overview_def",
       {"Share of the answers about a domain's indicators that are \"yes\", among the countries that answered "
        "(partial does not count as in place).",
        "Part des réponses « oui » aux indicateurs du domaine, parmi les pays qui ont répondu "
        "(« partiellement » ne compte pas comme en place)."}},
      {"indicators", {"Indicators", "Indicateurs"}},
      {"of", {"of", "sur"}},
      {"answered_yes", {"countries answered yes", "pays ont répondu oui"}},
      {"answers_yes", {"answers are yes", "réponses sont oui"}},
      {"not_answered", {"did not answer", "n'ont pas répondu"}},
      {"in_place", {"In place", "En place"}},
      {"group", {"Group", "Groupe"}},
      {"yes_of", {"Yes", "Oui"}},
      {"share", {"Share", "Part"}},
      {"yes", {"yes", "oui"}},
      {"partial", {"partial", "partiellement"}},
      {"no", {"no", "non"}},
      {"unknown", {"unknown", "ne sait pas"}},
      {"all", {"All countries", "Tous les pays"}},
      {"high", {"High income", "Revenu élevé"}},
      {"upper_middle", {"Upper-middle income", "Revenu intermédiaire supérieur"}},
      {"lower_middle", {"Lower-middle income", "Revenu intermédiaire inférieur"}},
      {"low", {"Low income", "Faible revenu"}},
      {"lmic", {"Low and middle income", "Revenu faible et intermédiaire"}},
      {"practices", {"Good practices, challenges and lessons learned", "Bonnes pratiques, difficultés et enseignements"}},
      {"search", {"Search the entries", "Rechercher dans les entrées"}},
      {"shown", {"{n} of {total} entries shown", "{n} entrées affichées sur {total}"}},
      {"no_match", {"No entry matches the search.", "Aucune entrée ne correspond à la recherche."}},
      {"good_practice", {"Good practice", "Bonne pratique"}},
      {"challenge", {"Challenge", "Difficulté"}},
      {"lesson_learned", {"Lesson learned", "Enseignement"}},
      {"domain", {"Domain", "Domaine"}},
      {"capability", {"Capability", "Capacité"}},
      {"no_answer_yet", {"no answers", "aucune réponse"}},
      {"evidence", {"Evidence files", "Pièces justificatives"}},
      {"evidence_not_published",
       {"Evidence files are listed by title only: the files themselves are not published with this report.",
        "Les pièces justificatives ne sont citées que par leur titre : les fichiers ne sont pas publiés avec ce rapport."}},
      {"bytes", {"B", "o"}},
      {"kib", {"KB", "Ko"}},
      {"mib", {"MB", "Mo"}},
      {"provenance",
       {"Computed by {software} from the audit log's first {size} entries (tree root {root}). "
        "Anyone holding the server certificate can check the manifest's signature and recompute the content hash.",
        "Calculé par {software} à partir des {size} premières entrées du journal d'audit (racine {root}). "
        "Avec le certificat du serveur, chacun peut vérifier la signature du manifeste et recalculer l'empreinte."}},
  };
  return d;
}

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Replace(std::string s, std::string_view key, std::string_view value) {
  for (std::size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + value.size())) s.replace(at, key.size(), value);
  return s;
}

std::string FormatDay(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

class Page {
 public:
  Page(const SurveySchema& schema, const Dataset& d, std::string_view lang, int min_group, const PreviousRound* previous,
       const nlohmann::json& attachments, const AttachmentLinks* links)
      : schema_(schema), d_(d), lang_(lang), min_group_(min_group), previous_(previous), attachments_(attachments), links_(links) {}

  std::string W(std::string_view key) const {
    auto it = Dictionary().find(key);
    if (it == Dictionary().end()) return std::string(key);
    return lang_ == "fr" ? it->second.fr : it->second.en;
  }
  // Whole percent as the report shows it: "76%" in English, "76 %" (no-break space) in French.
  std::string Pct(const DatasetRow& r) const {
    if (Small(r)) return "–";
    const std::string p = PercentWhole(r.n_yes, r.n_responding());
    if (p.empty()) return "–";
    return lang_ == "fr" ? p + "\u00a0%" : p + "%";
  }
  // Small groups (aggregate.h IsSmallGroup): the text replaces the figures, and no number of theirs is
  // in the page, not even in data attributes.
  bool Small(const DatasetRow& r) const { return IsSmallGroup(r, min_group_); }
  std::string NofN(const DatasetRow& r) const {
    if (Small(r)) return SmallGroupText(min_group_, lang_);
    return std::to_string(r.n_yes) + " " + W("of") + " " + std::to_string(r.n_responding());
  }
  // data-* attributes that carry a row's numbers.
  std::string Data(const DatasetRow& r) const {
    if (Small(r)) return " data-subject=\"" + Escape(r.subject) + "\" data-group=\"" + Escape(r.group) + "\" data-small-group=\"1\"";
    return " data-subject=\"" + Escape(r.subject) + "\" data-group=\"" + Escape(r.group) + "\" data-yes=\"" +
           std::to_string(r.n_yes) + "\" data-responding=\"" + std::to_string(r.n_responding()) + "\" data-not-answered=\"" +
           std::to_string(r.n_not_answered) + "\" data-pct=\"" + PercentYes(r.n_yes, r.n_responding()) + "\"";
  }
  std::string Width(const DatasetRow& r) const {
    if (Small(r)) return "0";
    const std::string p = PercentYes(r.n_yes, r.n_responding());
    return p.empty() ? "0" : p;
  }
  const DatasetRow* Row(std::string_view subject, std::string_view group) const { return d_.Find(subject, group); }
  // The change of a row's share of yes since the previous round; "–" where either round shows no
  // figure (no answers, or a small group under either release's rule).
  std::string Change(std::string_view subject, std::string_view group) const {
    const DatasetRow* now = Row(subject, group);
    const DatasetRow* then = previous_ ? previous_->dataset.Find(subject, group) : nullptr;
    const std::string attrs = " data-subject=\"" + Escape(subject) + "\" data-group=\"" + Escape(group) + "\"";
    if (now == nullptr || then == nullptr || Small(*now) || IsSmallGroup(*then, previous_->min_group)) {
      return "<span class=\"change\"" + attrs + ">–</span>";
    }
    const std::string change = ChangeInPoints(then->n_yes, then->n_responding(), now->n_yes, now->n_responding());
    if (change.empty()) return "<span class=\"change\"" + attrs + ">–</span>";
    std::string shown = change;
    if (lang_ == "fr") std::replace(shown.begin(), shown.end(), '.', ',');
    return "<span class=\"change\"" + attrs + " data-change=\"" + change + "\" data-previous-pct=\"" +
           PercentYes(then->n_yes, then->n_responding()) + "\">" + shown + (lang_ == "fr" ? "\u00a0" : " ") + W("points") + "</span>";
  }
  // "12.5 KB" / "12,5 Ko": the size shown beside a published file.
  std::string FileSize(std::uint64_t bytes) const {
    char text[32];
    if (bytes < 1024) {
      std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(bytes));
      return std::string(text) + "\u00a0" + W("bytes");
    }
    const bool mib = bytes >= 1024 * 1024;
    std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / (mib ? 1024.0 * 1024.0 : 1024.0));
    std::string shown = text;
    if (lang_ == "fr") std::replace(shown.begin(), shown.end(), '.', ',');
    return shown + "\u00a0" + W(mib ? "mib" : "kib");
  }
  // The evidence files of one indicator (`key` "indicator") or good-practice entry ("practice") of
  // `country` (any country when empty): titles, linked to their copies when the files are published.
  std::string Evidence(std::string_view key, std::string_view id, std::string_view country) const {
    std::string items;
    for (const auto& e : attachments_) {
      if (e.value(std::string(key), std::string()) != id || (!country.empty() && e.value("country", std::string()) != country)) continue;
      const std::string sha = e.value("sha256", std::string());
      items += "<li class=\"attachment\" data-field=\"" + Escape(e.value("field", std::string())) + "\" data-sha256=\"" + Escape(sha) +
               "\" data-country=\"" + Escape(e.value("country", std::string())) + "\">";
      const auto link = links_ ? links_->find(sha) : AttachmentLinks::const_iterator();
      if (links_ && link != links_->end()) {
        std::string type = link->second.substr(link->second.rfind('.') + 1);
        std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        items += "<a href=\"" + Escape(link->second) + "\" type=\"" + Escape(e.value("media_type", std::string())) + "\">" +
                 Escape(e.value("title", std::string())) + "</a> <span class=\"attachment-meta\">(" + Escape(e.value("country", std::string())) +
                 " · " + Escape(type) + " · " + FileSize(e.value("size", std::uint64_t{0})) + ")</span>";
      } else {
        items += Escape(e.value("title", std::string())) + " <span class=\"attachment-meta\">(" + Escape(e.value("country", std::string())) +
                 ")</span>";
      }
      items += "</li>";
    }
    if (items.empty()) return "";
    return "<div class=\"evidence\"><h5>" + W("evidence") + "</h5><ul>" + items + "</ul></div>";
  }

  std::string SinceRound() const { return previous_ ? Replace(W("since"), "{round}", previous_->round) : std::string(); }

  // Each group's label and share sit on a line of their own above its bar, so the chart stays legible
  // when a phone scales it down (the text is never squeezed beside the bars).
  std::string OverviewChart() const {
    const char* groups[] = {"all", "high", "lmic"};
    const int width = 400, row_h = 34, title_h = 26, gap = 10, top = 22;
    const int block = title_h + 3 * row_h + gap;
    const int height = top + block * static_cast<int>(schema_.domains().size());
    std::string s = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                    "\" role=\"img\" aria-labelledby=\"chart-title\"><title id=\"chart-title\">" + Escape(W("overview")) + "</title>";
    for (int tick = 0; tick <= 100; tick += 25) {
      const int x = width * tick / 100;
      const char* anchor = tick == 0 ? "start" : tick == 100 ? "end" : "middle";
      s += "<line x1=\"" + std::to_string(x) + "\" y1=\"16\" x2=\"" + std::to_string(x) + "\" y2=\"" + std::to_string(height) +
           "\" class=\"grid\"/><text x=\"" + std::to_string(x) + "\" y=\"12\" class=\"tick\" text-anchor=\"" + anchor + "\">" +
           std::to_string(tick) + (lang_ == "fr" ? "\u00a0%" : "%") + "</text>";
    }
    int y = top;
    for (const auto& dom : schema_.domains()) {
      s += "<text x=\"0\" y=\"" + std::to_string(y + 18) + "\" class=\"domain-title\">" + std::to_string(dom.id) + ". " +
           Escape(dom.label.In(lang_)) + "</text>";
      y += title_h;
      for (const char* g : groups) {
        const DatasetRow* r = Row("domain:" + std::to_string(dom.id), g);
        if (r == nullptr) continue;
        s += "<text x=\"0\" y=\"" + std::to_string(y + 13) + "\" class=\"group-label\">" + Escape(W(g)) + "</text>";
        s += "<text x=\"" + std::to_string(width) + "\" y=\"" + std::to_string(y + 13) + "\" class=\"pct chart-pct\"" + Data(*r) +
             ">" + Pct(*r) + "</text>";
        s += "<rect x=\"0\" y=\"" + std::to_string(y + 18) + "\" width=\"" + std::to_string(width) + "\" height=\"10\" class=\"track\"/>";
        const std::string pct = Small(*r) ? "" : PercentYes(r->n_yes, r->n_responding());
        const double w = pct.empty() ? 0 : std::stod(pct) * width / 100.0;
        char wbuf[32];
        std::snprintf(wbuf, sizeof wbuf, "%.1f", w);
        s += "<rect x=\"0\" y=\"" + std::to_string(y + 18) + "\" width=\"" + wbuf + "\" height=\"10\" class=\"bar-" + g + "\"/>";
        y += row_h;
      }
      y += gap;
    }
    return s + "</svg>";
  }

  std::string GroupTable(const std::string& subject) const {
    std::string s = "<table class=\"groups\"><thead><tr><th>" + W("group") + "</th><th>" + W("yes_of") + "</th><th>" + W("share") +
                    "</th><th></th>" + (previous_ ? "<th>" + Escape(SinceRound()) + "</th>" : std::string()) + "</tr></thead><tbody>";
    for (const char* g : {"high", "upper_middle", "lower_middle", "low", "lmic"}) {
      const DatasetRow* r = Row(subject, g);
      if (r == nullptr) continue;
      s += "<tr class=\"group-row\" data-group=\"" + std::string(g) + "\"><td>" + Escape(W(g)) + "</td><td><span class=\"n-of-n\"" +
           Data(*r) + ">" + NofN(*r) + "</span></td><td><span class=\"pct\"" + Data(*r) + ">" + Pct(*r) +
           "</span></td><td><div class=\"minibar\"><span class=\"fill bar-" + g + "\" style=\"width:" + Width(*r) +
           "%\"></span></div></td>" + (previous_ ? "<td>" + Change(subject, g) + "</td>" : std::string()) + "</tr>";
    }
    return s + "</tbody></table>";
  }

  std::string Indicator(const mnr::Indicator& ind) const {
    const DatasetRow* all = Row(ind.id, "all");
    if (all == nullptr) return "";
    std::string s = "<article class=\"indicator\" id=\"ind-" + Escape(ind.id) + "\" data-indicator=\"" + Escape(ind.id) + "\">";
    s += "<h4>" + Escape(ind.label.In(lang_)) + " <code>" + Escape(ind.id) + "</code></h4>";
    s += "<div class=\"bar\"><span class=\"fill bar-all\" style=\"width:" + Width(*all) + "%\"></span></div>";
    s += "<p class=\"headline\"><span class=\"pct big\"" + Data(*all) + ">" + Pct(*all) + "</span> <span class=\"n-of-n\"" +
         Data(*all) + ">" + NofN(*all) + "</span>" + (Small(*all) ? "" : " " + W("answered_yes"));
    if (all->n_not_answered > 0 && !Small(*all)) s += " <span class=\"na\">(" + std::to_string(all->n_not_answered) + " " + W("not_answered") + ")</span>";
    s += "</p><p class=\"breakdown\">";
    const std::pair<const char*, int> parts[] = {{"yes", all->n_yes}, {"partial", all->n_partial}, {"no", all->n_no}, {"unknown", all->n_unknown}};
    for (const auto& [k, n] : parts) {
      if (Small(*all)) break;
      s += "<span class=\"count-" + std::string(k) + "\">" + W(k) + " " + std::to_string(n) + "</span> ";
    }
    s += "</p>";
    if (previous_) {
      s += "<p class=\"change-line\">" +
           Replace(Replace(Replace(W("change_line"), "{round}", Escape(previous_->round)), "{label}", Escape(previous_->label)), "{change}",
                   Change(ind.id, "all")) + "</p>";
    }
    s += GroupTable(ind.id) + Evidence("indicator", ind.id, "") + "</article>";
    return s;
  }

  std::string Indicators() const {
    std::string s = "<section id=\"indicators\"><h2>" + W("indicators") + "</h2>";
    for (const auto& dom : schema_.domains()) {
      s += "<section class=\"domain\" id=\"domain-" + std::to_string(dom.id) + "\"><h3>" + W("domain") + " " + std::to_string(dom.id) +
           ". " + Escape(dom.label.In(lang_)) + "</h3>";
      for (const auto& cap : schema_.capabilities()) {
        if (cap.domain != dom.id) continue;
        s += "<section class=\"capability\" id=\"capability-" + std::to_string(cap.id) + "\"><h3 class=\"cap-title\">" +
             std::to_string(cap.id) + ". " + Escape(cap.label.In(lang_));
        if (const DatasetRow* r = Row("capability:" + std::to_string(cap.id), "all")) {
          s += " <small>" + W("in_place") + ": <span class=\"pct\"" + Data(*r) + ">" + Pct(*r) + "</span> (<span class=\"n-of-n\"" +
               Data(*r) + ">" + NofN(*r) + "</span>" + (Small(*r) ? "" : " " + W("answers_yes")) + ")</small>";
        }
        s += "</h3>";
        for (const auto& ind : schema_.indicators()) {
          if (ind.capability == cap.id) s += Indicator(ind);
        }
        s += "</section>";
      }
      s += "</section>";
    }
    return s + "</section>";
  }

  std::string Practices(const nlohmann::json& practices) const {
    std::string s = "<section id=\"practices\"><h2>" + W("practices") + "</h2>";
    s += "<p class=\"search\"><label for=\"practice-search\">" + W("search") +
         "</label> <input type=\"search\" id=\"practice-search\" autocomplete=\"off\"> <span id=\"practice-count\" data-shown=\"" +
         std::to_string(practices.size()) + "\" data-total=\"" + std::to_string(practices.size()) + "\">" +
         Replace(Replace(W("shown"), "{n}", std::to_string(practices.size())), "{total}", std::to_string(practices.size())) +
         "</span></p><p id=\"no-match\" hidden>" + W("no_match") + "</p>";
    for (const auto& cap : schema_.capabilities()) {
      std::string entries;
      for (const auto& e : practices) {
        if (e.value("capability", 0) != cap.id) continue;
        const std::string kind = e.value("kind", "");
        const std::string lang = e.value("lang", "");
        entries += "<article class=\"practice\" data-kind=\"" + Escape(kind) + "\" data-country=\"" + Escape(e.value("country", "")) + "\"" +
                   (lang.empty() ? "" : " lang=\"" + Escape(lang) + "\"") + "><h4>" + Escape(e.value("title", "")) +
                   "</h4><p class=\"meta\"><span class=\"kind kind-" + Escape(kind) + "\">" + Escape(kind.empty() ? "" : W(kind)) +
                   "</span> " + Escape(e.value("country_name", "")) + "</p><p class=\"text\">" + Escape(e.value("text", "")) +
                   "</p>" + Evidence("practice", e.value("id", ""), e.value("country", "")) + "</article>";
      }
      if (entries.empty()) continue;
      s += "<section class=\"cap-practices\" data-capability=\"" + std::to_string(cap.id) + "\"><h3>" + std::to_string(cap.id) + ". " +
           Escape(cap.label.In(lang_)) + "</h3>" + entries + "</section>";
    }
    return s + "</section>";
  }

 private:
  const SurveySchema& schema_;
  const Dataset& d_;
  std::string lang_;
  int min_group_;
  const PreviousRound* previous_;
  const nlohmann::json& attachments_;  // the manifest's (ManifestAttachments)
  const AttachmentLinks* links_;
};

constexpr const char* kStyle = R"CSS(
:root{--all:#1f5f8b;--high:#7fa7c4;--lmic:#d98b1f;--umc:#9ab87a;--lmc:#c9a24a;--lic:#b3563c}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0;color:#1b1f24;background:#fafaf7}
header,main,footer{max-width:960px;margin:0 auto;padding:0 20px}
header{padding-top:18px;border-bottom:1px solid #ddd}
h1{font-size:1.6em;margin:.3em 0}
h2{font-size:1.3em;border-bottom:2px solid var(--all);padding-bottom:4px;margin-top:1.8em}
h3{font-size:1.1em;margin:1.2em 0 .4em}
h4{font-size:1em;margin:.2em 0}
code{font-size:.85em;color:#555;word-break:break-all}
nav a{margin-right:1em}
.meta-line{margin:.2em 0;color:#333}
.chart{display:block;width:100%;max-width:520px;height:auto;background:#fff;border:1px solid #e3e3e3;padding:6px;overflow:visible}
.chart .grid{stroke:#e6e6e6;stroke-width:1}
.chart .tick{font-size:12px;fill:#595959}
.chart .domain-title{font-weight:600;font-size:16px}
.chart .group-label{font-size:14px;fill:#333}
.chart .chart-pct{font-size:14px;font-weight:600;text-anchor:end}
.n-of-n,.pct{white-space:nowrap}
.chart .track{fill:#f0f0ec}
.bar-all{fill:var(--all);background:var(--all)}
.bar-high{fill:var(--high);background:var(--high)}
.bar-lmic{fill:var(--lmic);background:var(--lmic)}
.bar-upper_middle{background:var(--umc)}
.bar-lower_middle{background:var(--lmc)}
.bar-low{background:var(--lic)}
.indicator{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:10px 14px;margin:10px 0}
.bar{height:14px;background:#f0f0ec;border-radius:3px;overflow:hidden;margin:6px 0}
.bar .fill,.minibar .fill{display:block;height:100%}
.minibar{width:160px;height:8px;background:#f0f0ec;border-radius:2px;overflow:hidden}
.headline{margin:.3em 0}
.headline .big{font-size:1.4em;font-weight:700;color:var(--all);margin-right:.3em}
.na{color:#8a4b00}
.breakdown span{display:inline-block;margin-right:.8em;color:#555;font-size:.9em}
table.groups{border-collapse:collapse;font-size:.9em;margin-top:4px}
table.groups td,table.groups th{padding:2px 10px 2px 0;text-align:left}
table.groups th{color:#666;font-weight:500}
.practice{background:#fff;border-left:4px solid var(--all);padding:6px 12px;margin:8px 0}
.practice[data-kind=challenge]{border-left-color:var(--lic)}
.practice[data-kind=lesson_learned]{border-left-color:var(--lmic)}
.practice .text{white-space:pre-line;margin:.3em 0}
.kind{font-size:.8em;text-transform:uppercase;letter-spacing:.04em;color:#555;margin-right:.5em}
.search input{font:inherit;padding:4px 8px;width:20em;max-width:100%}
.evidence h5{font-size:.9em;margin:.6em 0 .2em}
.evidence ul{margin:0;padding-left:1.2em}
.attachment-meta{color:#555;font-size:.9em}
.provisional{background:#fff4d6;border:1px solid #c98a00;border-radius:4px;padding:6px 10px;color:#4a3300}
footer{color:#555;font-size:.85em;border-top:1px solid #ddd;margin-top:2em;padding-bottom:2em}
[hidden]{display:none!important}
@media (max-width:600px){
header,main,footer{padding:0 12px}
header{padding-top:12px}
table.groups{width:100%}
table.groups td,table.groups th{padding:2px 6px 2px 0}
.minibar{width:auto;min-width:48px}
.breakdown span{margin-right:.6em}
}
)CSS";

// Filters the entries by every word typed (accents and case ignored); "#q=words" in the address
// pre-fills the search. Sets data-ready on <body> when done, so a headless browser can tell.
constexpr const char* kScript = R"JS(
(function () {
  var input = document.getElementById('practice-search');
  var count = document.getElementById('practice-count');
  var none = document.getElementById('no-match');
  var items = Array.prototype.slice.call(document.querySelectorAll('.practice'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('.cap-practices'));
  function norm(s) { return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase(); }
  var texts = items.map(function (e) { return norm(e.textContent); });
  function apply(q) {
    var words = norm(q).split(/\s+/).filter(function (w) { return w.length > 0; });
    var shown = 0;
    items.forEach(function (e, i) {
      var hit = words.every(function (w) { return texts[i].indexOf(w) >= 0; });
      e.hidden = !hit;
      if (hit) shown++;
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector('.practice:not([hidden])'); });
    count.setAttribute('data-shown', String(shown));
    count.textContent = SHOWN.replace('{n}', String(shown)).replace('{total}', String(items.length));
    none.hidden = shown > 0;
  }
  input.addEventListener('input', function () { apply(input.value); });
  var m = /^#q=(.*)$/.exec(window.location.hash);
  if (m) input.value = decodeURIComponent(m[1]);
  apply(input.value);
  document.body.setAttribute('data-ready', '1');
})();
)JS";

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("cannot remove " + path + ": " + ec.message());
  return Status::OK();
}

}  // namespace

Status CheckReportLanguage(std::string_view lang) {
  if (lang == "en" || lang == "fr") return Status::OK();
  return Status::InvalidArgument("--lang must be en or fr, not \"" + std::string(lang.substr(0, 20)) + "\"");
}

std::string RenderReport(const SurveySchema& schema, const Dataset& dataset, const nlohmann::json& practices,
                         const Release& release, std::string_view lang, const PreviousRound* previous,
                         const AttachmentLinks* attachment_links) {
  const nlohmann::json manifest = nlohmann::json::parse(release.manifest, nullptr, false);
  const nlohmann::json attachments = ManifestAttachments(manifest);
  Page p(schema, dataset, lang, MinGroupOfManifest(manifest), previous, attachments, attachment_links);
  const nlohmann::json head = manifest.is_object() ? manifest.value("audit_tree_head", nlohmann::json::object()) : nlohmann::json::object();
  const DatasetRow* all = nullptr;
  for (const auto& r : dataset.rows) {
    if (r.group == "all") {
      all = &r;
      break;
    }
  }
  std::string h = "<!DOCTYPE html>\n<html lang=\"" + std::string(lang) + "\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<title>" + Escape(p.W("title")) + " — " + Escape(release.label) + "</title><style>" + kStyle + "</style></head>\n";
  h += "<body data-ready=\"0\" data-errors=\"0\" data-release=\"" + Escape(release.label) + "\" data-content-sha256=\"" +
       release.content_sha256 + "\">\n";
  // First, so that an error anywhere later is counted.
  h += "<script>window.onerror = function () { var b = document.body; "
       "b.setAttribute('data-errors', String(Number(b.getAttribute('data-errors')) + 1)); };</script>\n";
  h += "<header><h1>" + Escape(p.W("title")) + "</h1>";
  h += "<p class=\"meta-line\">" + p.W("release") + " <strong id=\"release-label\">" + Escape(release.label) + "</strong>, " + p.W("round") +
       " <strong id=\"release-round\">" + Escape(ReleaseRound(release)) + "</strong>, " + p.W("made") +
       " " + FormatDay(release.created_at) + " · <span id=\"country-count\">" + std::to_string(all ? all->n_countries : 0) + "</span> " +
       p.W("countries") + "</p>";
  h += "<p class=\"meta-line\">" + p.W("content_hash") + ": <code id=\"content-sha256\">" + release.content_sha256 + "</code></p>";
  h += "<p class=\"meta-line\">" + p.W("release_id") + ": <code id=\"release-id\">" + release.release_id + "</code></p>";
  h += "<p class=\"meta-line\">" + p.W("downloads") + ": <a href=\"dataset.csv\" download>" + p.W("csv") +
       "</a> · <a href=\"dataset.json\" download>" + p.W("json") + "</a> · <a href=\"manifest.json\" download>" + p.W("manifest") +
       "</a> (<a href=\"manifest.sig\" download>" + p.W("signature") + "</a>, <a href=\"server.crt\" download>" + p.W("certificate") +
       "</a>)</p>";
  if (!attachments.empty() && attachment_links == nullptr) {
    h += "<p class=\"meta-line\" id=\"attachments-note\">" + p.W("evidence_not_published") + "</p>";
  }
  // What the release gate let through (server/review.h) stays visible with the figures.
  if (manifest.is_object() && manifest.contains("provisional") && manifest["provisional"].is_object()) {
    const nlohmann::json& prov = manifest["provisional"];
    std::string countries, conflicts;
    // Grouped by state in the page's language, so 42 drafts read as one group, not 42 labels.
    for (const char* state : {"submitted", "returned", "draft"}) {
      std::string codes;
      int n = 0;
      for (const auto& c : prov.value("unapproved", nlohmann::json::array())) {
        if (c.value("state", "") != state) continue;
        codes += (codes.empty() ? "" : ", ") + Escape(c.value("country", ""));
        ++n;
      }
      if (n == 0) continue;
      countries += (countries.empty() ? "" : p.W("group_sep")) + p.W(std::string("state_") + state) + " (" +
                   std::to_string(n) + ")" + p.W("colon") + codes;
    }
    for (const auto& c : prov.value("open_conflicts", nlohmann::json::array())) {
      conflicts += (conflicts.empty() ? "" : ", ") + Escape(c.value("field", ""));
    }
    std::string text = p.W("provisional");
    text = Replace(text, "{countries}", countries.empty() ? p.W("none") : countries);
    text = Replace(text, "{conflicts}", conflicts.empty() ? p.W("none") : conflicts);
    h += "<p class=\"provisional\" id=\"provisional\" role=\"note\">" + text + "</p>";
  }
  h += "<nav><a href=\"#overview\">" + p.W("nav_overview") + "</a><a href=\"#indicators\">" + p.W("nav_indicators") +
       "</a><a href=\"#practices\">" + p.W("nav_practices") + "</a></nav></header>\n<main>";
  h += "<section id=\"overview\"><h2>" + p.W("overview") + "</h2><p>" + Escape(p.W("overview_def")) + "</p>" + p.OverviewChart() +
       "</section>\n";
  h += p.Indicators() + "\n";
  h += p.Practices(practices) + "\n</main>";
  std::string provenance = p.W("provenance");
  provenance = Replace(provenance, "{software}", Escape(manifest.is_object() ? manifest.value("software", "") : ""));
  provenance = Replace(provenance, "{size}", std::to_string(head.value("size", 0)));
  provenance = Replace(provenance, "{root}", "<code>" + Escape(head.value("root", "")) + "</code>");
  h += "<footer><p>" + provenance + "</p></footer>\n";
  h += "<script>var SHOWN = " + nlohmann::json(p.W("shown")).dump() + ";" + kScript + "</script>\n</body></html>\n";
  return h;
}

Result<std::optional<PreviousRound>> FindPreviousRound(ServerStore& store, const Release& release) {
  const auto round = store.schema().PreviousRound(ReleaseRound(release));
  if (!round) return std::optional<PreviousRound>();
  auto then = LatestReleaseOfRound(store.db(), *round, release.id);
  if (!then.ok()) return then.status();
  if (!*then) return std::optional<PreviousRound>();
  MNR_RETURN_IF_ERROR(CheckStoredRelease(store, **then));
  auto d = ParseDatasetCsv((*then)->csv, "release " + (*then)->label);
  if (!d.ok()) return d.status();
  PreviousRound out{*round, (*then)->label, std::move(*d), MinGroupOfManifest(nlohmann::json::parse((*then)->manifest, nullptr, false))};
  return std::optional<PreviousRound>(std::move(out));
}

Result<PublishOutcome> Publish(ServerStore& store, const Release& release, std::string_view lang, const std::string& out_in,
                               const std::string& actor, bool with_attachments) {
  MNR_RETURN_IF_ERROR(CheckReportLanguage(lang));
  std::string out = out_in;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.empty()) return Status::InvalidArgument("no --out directory given");
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(out, ec);
  if (exists) {
    if (!fs::is_directory(out, ec)) return Status::InvalidArgument(out + " exists and is not a directory; choose another --out");
    if (!fs::is_empty(out, ec) && !FileExists(out + "/" + kMarker)) {
      return Status::InvalidArgument(out + " is not empty and holds no earlier publication; choose another --out (nothing was written)");
    }
  }

  auto dataset = ParseDatasetCsv(release.csv, "release " + release.label);
  auto previous = FindPreviousRound(store, release);
  if (!previous.ok()) return previous.status();
  if (!dataset.ok()) return dataset.status();
  const nlohmann::json practices = nlohmann::json::parse(release.practices, nullptr, false);
  if (practices.is_discarded() || !practices.is_array()) return Status::Corruption("release " + release.label + ": its practices are not a JSON list");
  const nlohmann::json manifest = nlohmann::json::parse(release.manifest, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object()) return Status::Corruption("release " + release.label + ": its manifest is not JSON");
  auto cert = ReadFile(store.paths().server_cert(), kKeyFileBytes);
  if (!cert.ok()) return cert.status();
  MNR_RETURN_IF_ERROR(VerifyRelease(release, *cert));

  DatasetOrigin origin;
  origin.release_label = release.label;
  origin.release_id = release.release_id;
  origin.created_at = release.created_at;
  origin.store_schema_version = manifest.value("store_schema_version", 0);
  origin.survey_schema_version = manifest.value("survey_schema_version", 0);
  origin.content_sha256 = release.content_sha256;
  const std::string tmp = out + ".publish-" + crypto::HexEncode(crypto::RandomBytes(6));
  if (::mkdir(tmp.c_str(), 0755) != 0) {
    return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno) + " (does the parent directory exist?)");
  }
  // The evidence files, copied one at a time and checked against the signed manifest as they are.
  AttachmentLinks links;
  std::map<std::string, std::string> copied;  // name in the site -> SHA-256
  auto copy_attachments = [&]() -> Status {
    const BlobDirectory blobs(store.paths().dir);
    for (const auto& e : ManifestAttachments(manifest)) {
      const std::string field = e.value("field", std::string()), sha = e.value("sha256", std::string());
      if (links.count(sha)) continue;
      if (!IsValidBlobHash(sha)) return Status::Corruption("release " + release.label + ": attachment " + field + " has no valid sha256");
      const std::string path = blobs.PathOf(sha);
      auto bytes = ReadFile(path, limits::kAttachmentBytes);
      if (!bytes.ok()) return bytes.status().With("attachment " + field);
      if (bytes->size() != e.value("size", std::uint64_t{0}) || crypto::Sha256Hex(*bytes) != sha) {
        return Status::Corruption("attachment " + field + ": " + path + " does not hold the file the release's manifest states (" +
                                  std::to_string(e.value("size", std::uint64_t{0})) + " bytes, SHA-256 " + sha.substr(0, 16) +
                                  "...); nothing was published (run `mnr-server audit verify`)");
      }
      auto type = SniffMediaType(*bytes, "");
      if (!type.ok() || type->mime != e.value("media_type", std::string())) {
        return Status::Corruption("attachment " + field + ": " + path + " is not of the type its manifest states (" +
                                  e.value("media_type", std::string()) + "); nothing was published");
      }
      const std::string name = "attachments/" + sha + "." + type->extension;
      if (copied.empty() && ::mkdir((tmp + "/attachments").c_str(), 0755) != 0) {
        return Status::IOError("cannot create " + tmp + "/attachments: " + std::strerror(errno));
      }
      MNR_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/" + name, *bytes, 0644));
      links[sha] = name;
      copied[name] = sha;
    }
    return Status::OK();
  };
  if (with_attachments) {
    if (Status s = copy_attachments(); !s.ok()) {
      (void)RemoveTree(tmp);
      return s;
    }
  }

  std::map<std::string, std::string> files = {
      {"index.html", RenderReport(store.schema(), *dataset, practices, release, lang, previous->has_value() ? &**previous : nullptr,
                                  with_attachments ? &links : nullptr)},
      {"dataset.csv", DatasetLabelledCsv(*dataset, store.schema(), lang, MinGroupOfManifest(manifest))},
      {"dataset.json", DatasetLabelledJson(*dataset, store.schema(), origin, lang, MinGroupOfManifest(manifest)).dump(1) + "\n"},
      {"manifest.json", release.manifest},
      {"manifest.sig", crypto::Base64Encode(release.signature) + "\n"},
      {"server.crt", *cert},
  };

  PublishOutcome outcome;
  std::string listing;
  nlohmann::json file_hashes = nlohmann::json::object();
  for (const auto& [name, bytes] : files) {
    const std::string sha = crypto::Sha256Hex(bytes);
    outcome.files.emplace_back(name, sha);
    listing += name + "  " + sha + "\n";
    file_hashes[name] = sha;
  }
  for (const auto& [name, sha] : copied) {
    outcome.files.emplace_back(name, sha);
    listing += name + "  " + sha + "\n";
    file_hashes[name] = sha;
  }
  outcome.output_sha256 = crypto::Sha256Hex(listing);

  auto build = [&]() -> Status {
    for (const auto& [name, bytes] : files) MNR_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/" + name, bytes, 0644));
    return WriteFileAtomic(tmp + "/" + kMarker, release.label + "\n", 0644);
  };
  if (Status s = build(); !s.ok()) {
    (void)RemoveTree(tmp);
    return s;
  }

  Db& db = store.db();
  Transaction tx(db);
  if (!tx.status().ok()) {
    (void)RemoveTree(tmp);
    return tx.status();
  }
  const nlohmann::json payload = {{"release", release.label},
                                  {"release_id", release.release_id},
                                  {"content_sha256", release.content_sha256},
                                  {"lang", lang},
                                  {"files", file_hashes},
                                  {"output_sha256", outcome.output_sha256}};
  auto entry = AppendAuditEntry(db, AuditKind::kPublish, actor, payload.dump());
  if (!entry.ok()) {
    (void)RemoveTree(tmp);
    return entry.status().With("logging the publication");
  }
  outcome.audit_index = *entry;
  const std::string old = out + ".old-" + crypto::HexEncode(crypto::RandomBytes(6));
  if (exists && ::rename(out.c_str(), old.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    (void)RemoveTree(tmp);
    return Status::IOError("cannot move the earlier publication " + out + " aside: " + why);
  }
  if (::rename(tmp.c_str(), out.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    if (exists) (void)::rename(old.c_str(), out.c_str());
    (void)RemoveTree(tmp);
    return Status::IOError("cannot move the new site into " + out + ": " + why);
  }
  if (Status s = tx.Commit(); !s.ok()) {
    // Not logged, so not published: put the old state back.
    (void)RemoveTree(out);
    if (exists) (void)::rename(old.c_str(), out.c_str());
    return s.With("logging the publication");
  }
  if (exists) (void)RemoveTree(old);
  return outcome;
}

}  // namespace mnr::server
