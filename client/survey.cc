// `mnr-client survey`: the interactive questionnaire. Line-oriented on purpose: it must work on a
// plain terminal and over a slow SSH link, and a script can drive it through a pseudo-terminal.
// Every answer is saved by its own ReaffirmAnswers transaction the moment it is given, and the position
// is stored before each prompt, so quitting, EOF or a lost terminal lose nothing and the next run
// resumes at the indicator that was on screen.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_store.h"
#include "mnr/describe.h"
#include "client/commands.h"
#include "mnr/cli.h"
#include "mnr/field.h"
#include "mnr/i18n.h"
#include "mnr/limits.h"
#include "mnr/survey_schema.h"
#include "mnr/utf8.h"

namespace mnr::client {
namespace {

constexpr std::string_view kSurveyProgram = "mnr-client survey";

// The questionnaire's words, through the message catalogue (mnr/i18n.h); the schema's labels follow
// the same language. The answer keys accepted are in ParseChoice, and each language's prompt shows its
// own initials (o/p/n/i in French).
struct Strings {
  std::string domain = tr("Domain");
  std::string capability = tr("Capability");
  std::string of = tr("of");
  // TRANSLATORS: between a heading and its text; French typography puts a space before the colon.
  std::string colon = tr(": ");
  std::string current = tr("Current answer");
  std::string not_answered = tr("not answered");
  // TRANSLATORS: followed by a round ("2025"), then ": " and the answer carried from it.
  std::string carried = tr("Carried from round");
  std::string confirm = tr("(not yet confirmed: give it again to confirm it, or another answer)");
  std::string note = tr("Note");
  std::string prompt = tr("[y]es [p]artial [n]o [u]nknown [s]kip [b]ack [q]uit > ");
  std::string hint = tr("Type y, p, n or u to answer, s to skip, b to go back, q to quit.");
  // TRANSLATORS: followed by the quoted current note, then the next message.
  std::string note_prompt_keep = tr("note (Enter = keep \"");
  std::string note_prompt_none = tr("\", - = none): ");
  std::string note_prompt_new = tr("note (Enter = none): ");
  std::string saved = tr("Saved.");
  std::string unchanged = tr("Confirmed (unchanged).");
  std::string first_already = tr("Already at the first indicator.");
  std::string quit = tr("Stopped; every answer given is saved. Run the same command to resume here.");
  std::string done = tr("End of the questionnaire.");
  std::string answers[4] = {tr("yes"), tr("partial"), tr("no"), tr("unknown")};
  std::string query = tr("Coordinator's query");
  std::string reply_with = tr("reply with: mnr-client reply --db PATH");
};

const std::string& AnswerWord(const Strings& s, Answer a) { return s.answers[static_cast<int>(a)]; }

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

// Shows at most `max` characters of a note's first line (counted in code points, so an accented
// note is not cut sooner than an English one, and never in the middle of a character).
std::string Preview(std::string_view note, std::size_t max) {
  bool cut = false;
  if (auto nl = note.find('\n'); nl != std::string_view::npos) {
    note = note.substr(0, nl);
    cut = true;
  }
  std::size_t chars = 0, end = 0;
  for (; end < note.size(); ++end) {
    if ((static_cast<unsigned char>(note[end]) & 0xC0) == 0x80) continue;
    if (chars == max) {
      cut = true;
      break;
    }
    ++chars;
  }
  std::string out(note.substr(0, end));
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return cut ? out + "..." : out;
}

enum class Key { kAnswer, kSkip, kBack, kQuit, kInvalid };

struct Choice {
  Key key = Key::kInvalid;
  Answer answer = Answer::kUnknown;
};

Choice ParseChoice(const std::string& line) {
  std::string k;
  for (char c : Trim(line)) k += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  // English and French words and initials, whatever the language shown: o(ui), i(nconnu), r(etour)
  // and s(auter) do not collide with the English keys.
  if (k == "y" || k == "yes" || k == "o" || k == "oui") return {Key::kAnswer, Answer::kYes};
  if (k == "p" || k == "partial" || k == "partiel") return {Key::kAnswer, Answer::kPartial};
  if (k == "n" || k == "no" || k == "non") return {Key::kAnswer, Answer::kNo};
  if (k == "u" || k == "unknown" || k == "i" || k == "inconnu") return {Key::kAnswer, Answer::kUnknown};
  if (k == "s" || k == "skip" || k == "sauter" || k == "passer") return {Key::kSkip};
  if (k == "b" || k == "back" || k == "r" || k == "retour") return {Key::kBack};
  if (k == "q" || k == "quit" || k == "quitter") return {Key::kQuit};
  return {};
}

// Reads one line; false on EOF (or a lost terminal), which the questionnaire treats as quit.
bool ReadLine(std::string& line) {
  if (!std::getline(std::cin, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

// Where the questionnaire of `country` stopped, in `round` (the first round's key has no round).
std::string PositionKey(const std::string& country, const std::string& round) {
  return "survey.position." + country + (round == kFirstRound ? std::string() : "." + round);
}

class Questionnaire {
 public:
  Questionnaire(ClientStore& store, std::string country)
      : store_(store), schema_(store.schema()), country_(std::move(country)), lang_(MessagesLanguage()) {}

  int Run() {
    Status st = LoadAnswers();
    if (!st.ok()) return cli::Fail(kSurveyProgram, st);
    const auto& inds = schema_.indicators();
    if (inds.empty()) return cli::Fail(kSurveyProgram, Status::NotFound(tr("the survey schema has no indicators")));

    std::size_t i = 0;
    auto pos = store_.GetMeta(PositionKey(country_, store_.round()));
    if (!pos.ok()) return cli::Fail(kSurveyProgram, pos.status());
    if (*pos && !(*pos)->empty()) {
      for (std::size_t k = 0; k < inds.size(); ++k) {
        if (inds[k].id == **pos) i = k;
      }
      if (i > 0) {
        const Capability* cap = schema_.FindCapability(inds[i].capability);
        std::cout << (cap ? tr("Resuming at capability {1} ({2}), indicator {3}.", inds[i].capability, cap->label.In(lang_),
                               inds[i].id)
                          : tr("Resuming at capability {1}, indicator {2}.", inds[i].capability, inds[i].id))
                  << "\n";
      }
    }

    while (i < inds.size()) {
      const Indicator& ind = inds[i];
      // Stored before the prompt: a lost terminal resumes at the indicator that was on screen.
      st = store_.SetMeta(PositionKey(country_, store_.round()), ind.id);
      if (!st.ok()) return cli::Fail(kSurveyProgram, st);
      ShowHeadings(ind);
      ShowIndicator(i, ind);

      Choice choice;
      bool eof = false;
      while (true) {
        std::cout << s_.prompt << std::flush;
        std::string line;
        if (!ReadLine(line)) {
          eof = true;
          break;
        }
        choice = ParseChoice(line);
        if (choice.key != Key::kInvalid) break;
        std::cout << s_.hint << "\n";
      }
      if (eof) {
        std::cout << "\n";
        return Stop();
      }
      switch (choice.key) {
        case Key::kQuit:
          return Stop();
        case Key::kSkip:
          ++i;
          continue;
        case Key::kBack:
          if (i == 0) {
            std::cout << s_.first_already << "\n";
          } else {
            --i;
          }
          continue;
        case Key::kAnswer: {
          bool stop = false;
          st = AskNoteAndSave(ind, choice.answer, stop);
          if (!st.ok()) return cli::Fail(kSurveyProgram, st);
          if (stop) {
            std::cout << "\n";
            return Stop();
          }
          ++i;
          continue;
        }
        case Key::kInvalid:
          break;
      }
    }

    // Completed: the next run starts from the beginning again (for a review pass).
    st = store_.SetMeta(PositionKey(country_, store_.round()), "");
    if (!st.ok()) return cli::Fail(kSurveyProgram, st);
    std::cout << "\n" << s_.done << "\n";
    return Summary();
  }

 private:
  Status LoadAnswers() {
    auto rows = store_.Answers(country_);
    if (!rows.ok()) return rows.status();
    current_.clear();
    for (auto& r : *rows) current_[r.indicator] = r.value;
    auto carried = store_.CarriedAnswers(country_);
    if (!carried.ok()) return carried.status();
    carried_.clear();
    for (auto& c : *carried) carried_[c.indicator] = c;
    auto book = store_.Reviews();
    if (!book.ok()) return book.status();
    if (const CountryReview* r = book->Find(country_)) {
      for (const auto& [id, q] : r->queries) {
        if (q.open() && !q.question.indicator.empty()) queries_.emplace(q.question.indicator, q);
      }
    }
    return Status::OK();
  }

  void ShowHeadings(const Indicator& ind) {
    const Capability* cap = schema_.FindCapability(ind.capability);
    const int domain = cap ? cap->domain : 0;
    if (domain != shown_domain_) {
      const Domain* d = schema_.FindDomain(domain);
      std::cout << "\n== " << s_.domain << " " << domain << s_.colon << (d ? d->label.In(lang_) : "")
                << " ==\n";
      shown_domain_ = domain;
      shown_capability_ = 0;
    }
    if (ind.capability != shown_capability_) {
      std::cout << "\n-- " << s_.capability << " " << ind.capability << " " << s_.of << " "
                << schema_.capabilities().size() << s_.colon << (cap ? cap->label.In(lang_) : "")
                << " --\n";
      shown_capability_ = ind.capability;
    }
  }

  void ShowIndicator(std::size_t i, const Indicator& ind) {
    std::cout << "\n(" << (i + 1) << "/" << schema_.indicators().size() << ") " << ind.id << "\n"
              << "  " << ind.label.In(lang_) << "\n";
    // Open queries sit next to the indicator they are about, so the office fixes the answer there.
    for (auto q = queries_.lower_bound(ind.id); q != queries_.end() && q->first == ind.id; ++q) {
      std::cout << "  " << s_.query << " " << q->second.id << s_.colon << TerminalText(q->second.question.text, 0) << "\n"
                << "    (" << s_.reply_with << " " << q->second.id << " --text ...)\n";
    }
    auto it = current_.find(ind.id);
    if (it == current_.end()) {
      auto c = carried_.find(ind.id);
      if (c == carried_.end()) {
        std::cout << "  " << s_.current << s_.colon << s_.not_answered << "\n";
        return;
      }
      std::cout << "  " << s_.carried << " " << c->second.from_round << s_.colon << AnswerWord(s_, c->second.value.answer) << " "
                << s_.confirm << "\n";
      if (!c->second.value.note.empty()) std::cout << "  " << s_.note << s_.colon << TerminalText(c->second.value.note) << "\n";
      return;
    }
    std::cout << "  " << s_.current << s_.colon << AnswerWord(s_, it->second.answer) << "\n";
    if (!it->second.note.empty()) {
      std::cout << "  " << s_.note << s_.colon;
      // Multi-line notes stay readable: continuation lines are indented under the first.
      for (char c : it->second.note) {
        std::cout << c;
        if (c == '\n') std::cout << "    ";
      }
      std::cout << "\n";
    }
  }

  // Asks for the note, then saves. `stop` is set on EOF at the note prompt: the answer chosen is
  // still saved (with the note kept), since losing it would be the worse surprise.
  Status AskNoteAndSave(const Indicator& ind, Answer answer, bool& stop) {
    auto it = current_.find(ind.id);
    auto carried = carried_.find(ind.id);
    const std::string old_note = it != current_.end() ? it->second.note : carried != carried_.end() ? carried->second.value.note : "";
    while (true) {
      if (old_note.empty()) {
        std::cout << s_.note_prompt_new << std::flush;
      } else {
        std::cout << s_.note_prompt_keep << Preview(old_note, 40) << s_.note_prompt_none
                  << std::flush;
      }
      std::string line;
      std::string note = old_note;
      if (!ReadLine(line)) {
        stop = true;
      } else {
        const std::string typed = Trim(line);
        if (typed == "-") {
          note.clear();
        } else if (!typed.empty()) {
          note = typed;
        }
      }
      // A note the store would refuse (bad UTF-8 from a misconfigured terminal, too long) is
      // asked again rather than ending the session.
      Status valid = CheckText(note, "note", limits::kNoteBytes);
      if (valid.ok()) {
        AnswerValue v;
        v.answer = answer;
        v.note = note;
        // Answering again asserts the answer now, as `mnr-client answer` does, so it wins over older
        // concurrent edits from other devices.
        auto previous = current_.find(ind.id);
        const bool same = previous != current_.end() && previous->second.answer == v.answer && previous->second.note == v.note;
        auto changed = store_.ReaffirmAnswers({AnswerEdit{country_, ind.id, v}});
        if (changed.ok()) {
          current_[ind.id] = v;
          std::cout << (same ? s_.unchanged : s_.saved) << "\n";
          return Status::OK();
        }
        if (changed.status().code() != Status::Code::kInvalidArgument) {
          return changed.status().With("saving " + ind.id + " for " + country_);
        }
        valid = changed.status();
      }
      std::cerr << kSurveyProgram << ": " << valid.message() << "\n";
      if (stop) return Status::OK();
    }
  }

  int Stop() {
    std::cout << s_.quit << "\n";
    return Summary();
  }

  int Summary() {
    Status st = LoadAnswers();
    if (!st.ok()) return cli::Fail(kSurveyProgram, st);
    int counts[4] = {0, 0, 0, 0};
    int answered = 0;
    for (const auto& ind : schema_.indicators()) {
      auto it = current_.find(ind.id);
      if (it == current_.end()) continue;
      ++answered;
      ++counts[static_cast<int>(it->second.answer)];
    }
    std::cout << tr("{1} of {2} indicators answered for {3}", answered, schema_.indicators().size(), country_) << " (";
    for (int k = 0; k < 4; ++k) {
      std::cout << (k ? ", " : "") << s_.answers[k] << " " << counts[k];
    }
    std::cout << ")\n";
    return cli::kExitOk;
  }

  ClientStore& store_;
  const SurveySchema& schema_;
  const std::string country_;
  const std::string lang_;
  const Strings s_;
  std::map<std::string, AnswerValue> current_;
  std::map<std::string, CarriedAnswer> carried_;  // of the store's round, not yet confirmed
  std::multimap<std::string, Query> queries_;  // open queries by indicator
  int shown_domain_ = -1;
  int shown_capability_ = -1;
};

}  // namespace

int SurveyCommand(const std::vector<std::string>& args) {
  cli::Parser p("mnr-client survey --db PATH [--lang en|fr] [--country CODE] [--round YEAR]",
                tr("Answers the MNR survey in the terminal, capability by capability. Each indicator shows\n"
                   "its label and current answer; type y, p, n or u (then an optional note), s to skip,\n"
                   "b to go back, q to quit. Every answer is saved the moment it is given, and the next\n"
                   "run resumes where the last one stopped. End of input (Ctrl-D) also quits."));
  p.Option("db", "PATH", "the client store (made by mnr-client init)", true)
      .Option("lang", "en|fr", "language of labels and prompts (default: that of the messages, see mnr-client --help)")
      .Option("country", "CODE",
              "the country to answer for; needed only when the store may write several")
      .Option("round", "YEAR", "the survey round to answer (default: the one the store works on, see `mnr-client round`)")
      .Epilog("exit status: 0 stopped or finished (answers saved), 1 failure, 2 usage");
  cli::Args a;
  if (auto code = cli::ParseOrExit(p, args, kSurveyProgram, a)) return *code;

  // --lang itself was taken by main(), which chose the language of messages and labels with it.

  auto store = ClientStore::Open(*a.Get("db"));
  if (!store.ok()) return cli::Fail(kSurveyProgram, store.status());
  if (auto round = a.Get("round")) {
    if (Status r = (*store)->UseRound(*round); !r.ok()) return cli::Fail(kSurveyProgram, r);
  }
  const std::vector<std::string>& scope = (*store)->identity().countries;

  std::string country;
  if (auto c = a.Get("country")) {
    country = *c;
    bool in_scope = false;
    for (const auto& s : scope) in_scope |= s == country;
    if (!in_scope) {
      std::string list;
      for (const auto& s : scope) list += (list.empty() ? "" : ", ") + s;
      return cli::Fail(kSurveyProgram, Status::Refused(tr("country {1} is outside this store's scope ({2}); pick one of those with --country",
                                                    country, list)));
    }
  } else if (scope.size() == 1) {
    country = scope.front();
  } else if (scope.empty()) {
    return cli::Fail(kSurveyProgram, Status::NotFound(
                                   tr("the store at {1} may write no country; re-create it with init --country", *a.Get("db"))));
  } else {
    std::string list;
    for (const auto& s : scope) list += (list.empty() ? "" : ", ") + s;
    std::cerr << kSurveyProgram << ": " << tr("this store may write several countries ({1}); choose one with --country CODE", list)
              << "\n";
    return cli::kExitUsage;
  }

  return Questionnaire(**store, country).Run();
}

}  // namespace mnr::client
