// The questionnaire driven as a user would: the real mnr-client binary on a pseudo-terminal, answers
// typed at its prompts, quit mid-way by q, by end of input and by losing the terminal, then resumed;
// the export must show exactly what was typed.
#include <catch2/catch.hpp>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "mnr/csv.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using mnr::test::ClientBin;

// One child process whose stdin, stdout and stderr are the slave side of a fresh pseudo-terminal.
class Pty {
 public:
  explicit Pty(const std::vector<std::string>& argv) {
    struct winsize ws = {};
    ws.ws_row = 24;
    ws.ws_col = 80;
    pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      std::vector<char*> cargv;
      for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
      cargv.push_back(nullptr);
      setenv("TERM", "dumb", 1);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
  }
  ~Pty() {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  bool started() const { return pid_ > 0 && fd_ >= 0; }
  const std::string& output() const { return out_; }

  // Waits until `text` appears after the last match and moves past it; false on timeout or exit.
  bool Expect(std::string_view text, std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto at = out_.find(text, cursor_); at != std::string::npos) {
        cursor_ = at + text.size();
        return true;
      }
      if (eof_ || std::chrono::steady_clock::now() >= deadline) return false;
      ReadSome(deadline);
    }
  }

  void Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = write(fd_, s.data(), s.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until the child closes the terminal, then reaps it: its exit code, or -signal.
  int Finish(std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_ && std::chrono::steady_clock::now() < deadline) ReadSome(deadline);
    return Reap(deadline);
  }

  // Hangs up the terminal, as a dropped SSH session does; returns what Finish would.
  int HangUp(std::chrono::milliseconds timeout = 15s) {
    close(fd_);
    fd_ = -1;
    eof_ = true;
    return Reap(std::chrono::steady_clock::now() + timeout);
  }

 private:
  void ReadSome(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      std::chrono::steady_clock::now());
    struct pollfd p = {fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (r <= 0) return;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n > 0) {
      // The terminal turns \n into \r\n; drop the \r so expectations read like the program's text.
      for (ssize_t k = 0; k < n; ++k) {
        if (buf[k] != '\r') out_ += buf[k];
      }
    } else if (n == 0 || errno != EINTR) {
      eof_ = true;  // EIO: every holder of the slave side has closed it
    }
  }

  int Reap(std::chrono::steady_clock::time_point deadline) {
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        reaped_ = true;
        return -1000;
      }
      std::this_thread::sleep_for(10ms);
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  std::string out_;
  std::size_t cursor_ = 0;
};

#define EXPECT_SCREEN(pty, text)                                                      \
  do {                                                                                \
    const bool seen_ = (pty).Expect(text);                                            \
    INFO("waiting for: " << (text) << "\n--- terminal so far ---\n" << (pty).output()); \
    REQUIRE(seen_);                                                                   \
  } while (0)

constexpr std::string_view kPrompt = "[s]kip [b]ack [q]uit > ";
constexpr std::string_view kPromptFr = "[r]etour [q]uitter > ";

std::string InitStore(const mnr::test::TempDir& dir) {
  const std::string db = dir / "field.db";
  auto r = mnr::test::Run({ClientBin(), "init", "--db", db, "--country", "X01"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return db;
}

// indicator -> (answer, note) for X01, read from the CSV export by column name.
std::map<std::string, std::pair<std::string, std::string>> ExportedAnswers(const std::string& db) {
  auto r = mnr::test::Run({ClientBin(), "export", "--db", db, "--format", "csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto recs = mnr::ParseCsv(r.out, "export");
  INFO(recs.status().message() << "\n" << r.out);
  REQUIRE(recs.ok());
  REQUIRE(!recs->empty());
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < recs->front().fields.size(); ++i) col[recs->front().fields[i]] = i;
  for (const char* c : {"country", "indicator", "answer", "note"}) REQUIRE(col.count(c) == 1);
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (std::size_t i = 1; i < recs->size(); ++i) {
    const auto& f = (*recs)[i].fields;
    if (f.at(col["country"]) != "X01") continue;
    out[f.at(col["indicator"])] = {f.at(col["answer"]), f.at(col["note"])};
  }
  return out;
}

}  // namespace

TEST_CASE("survey on a terminal saves each answer, resumes where it stopped, exports what was typed",
          "[e2e][survey]") {
  mnr::test::TempDir dir;
  const std::string db = InitStore(dir);
  const std::string quoted_note = "Used since 2019, \"MNR\" cited";
  const std::string french_note = "Réseau régional, coût élevé : à revoir";

  {
    Pty t({ClientBin(), "survey", "--db", db});
    REQUIRE(t.started());
    EXPECT_SCREEN(t, "== Domain 1: Policy and governance ==");
    EXPECT_SCREEN(t, "-- Capability 1 of 21: Leadership --");
    EXPECT_SCREEN(t, "(1/27) c00_mnr_reference");
    EXPECT_SCREEN(t, "The MNR is used as a good-practice reference");
    EXPECT_SCREEN(t, "Current answer: not answered");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("y\n");
    EXPECT_SCREEN(t, "note (Enter = none): ");
    t.Send(quoted_note + "\n");
    EXPECT_SCREEN(t, "Saved.");

    EXPECT_SCREEN(t, "(2/27) c01_governance_mechanism");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("x\n");
    EXPECT_SCREEN(t, "Type y, p, n or u to answer, s to skip, b to go back, q to quit.");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("p\n");
    EXPECT_SCREEN(t, "note (Enter = none): ");
    t.Send("\n");
    EXPECT_SCREEN(t, "Saved.");

    EXPECT_SCREEN(t, "(3/27) c01_national_strategy");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("s\n");

    EXPECT_SCREEN(t, "-- Capability 2 of 21: Research, analysis and monitoring --");
    EXPECT_SCREEN(t, "(4/27) c02_research_monitoring");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("n\n");
    EXPECT_SCREEN(t, "note (Enter = none): ");
    t.Send(french_note + "\n");
    EXPECT_SCREEN(t, "Saved.");

    EXPECT_SCREEN(t, "-- Capability 3 of 21: Legislation --");
    EXPECT_SCREEN(t, "(5/27) c03_criminalises_ocsea");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("b\n");
    // Back into capability 2: its heading again, the answer and note just given.
    EXPECT_SCREEN(t, "-- Capability 2 of 21");
    EXPECT_SCREEN(t, "(4/27) c02_research_monitoring");
    EXPECT_SCREEN(t, "Current answer: no");
    EXPECT_SCREEN(t, "Note: " + french_note);
    EXPECT_SCREEN(t, kPrompt);
    t.Send("u\n");
    EXPECT_SCREEN(t, "note (Enter = keep \"" + french_note + "\", - = none): ");
    t.Send("\n");
    EXPECT_SCREEN(t, "Saved.");

    EXPECT_SCREEN(t, "(5/27) c03_criminalises_ocsea");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("q\n");
    EXPECT_SCREEN(t, "Stopped;");
    EXPECT_SCREEN(t, "3 of 27 indicators answered for X01 (yes 1, partial 1, no 0, unknown 1)");
    REQUIRE(t.Finish() == 0);
  }

  {
    // In French, resumed at the indicator on screen at q; stopped by end of input (Ctrl-D).
    Pty t({ClientBin(), "survey", "--db", db, "--lang", "fr"});
    EXPECT_SCREEN(t, "Reprise à la capacité 3 (Législation), indicateur c03_criminalises_ocsea.");
    EXPECT_SCREEN(t, "== Domaine 1 : Politique et gouvernance ==");
    EXPECT_SCREEN(t, "-- Capacité 3 sur 21 : Législation --");
    EXPECT_SCREEN(t, "(5/27) c03_criminalises_ocsea");
    EXPECT_SCREEN(t, "La législation incrimine");
    EXPECT_SCREEN(t, "Réponse actuelle : sans réponse");
    EXPECT_SCREEN(t, kPromptFr);
    t.Send("o\n");
    EXPECT_SCREEN(t, "note (Entrée = aucune) : ");
    t.Send("Loi de 2021, révisée\n");
    EXPECT_SCREEN(t, "Enregistré.");
    EXPECT_SCREEN(t, "(6/27) c03_criminalises_possession");
    EXPECT_SCREEN(t, kPromptFr);
    t.Send("\x04");  // VEOF at the start of a line: read() returns 0
    EXPECT_SCREEN(t, "4 indicateurs sur 27 renseignés pour X01 (oui 2, partiel 1, non 0, inconnu 1)");
    REQUIRE(t.Finish() == 0);
  }

  {
    // "-" removes a note; then the terminal is lost right after an answer was saved.
    Pty t({ClientBin(), "survey", "--db", db});
    EXPECT_SCREEN(t, "Resuming at capability 3 (Legislation), indicator c03_criminalises_possession.");
    EXPECT_SCREEN(t, "(6/27) c03_criminalises_possession");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("b\n");
    EXPECT_SCREEN(t, "(5/27) c03_criminalises_ocsea");
    EXPECT_SCREEN(t, "Current answer: yes");
    EXPECT_SCREEN(t, "Note: Loi de 2021, révisée");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("y\n");
    EXPECT_SCREEN(t, "note (Enter = keep \"Loi de 2021, révisée\", - = none): ");
    t.Send("-\n");
    EXPECT_SCREEN(t, "Saved.");
    EXPECT_SCREEN(t, "(6/27) c03_criminalises_possession");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("p\n");
    EXPECT_SCREEN(t, "note (Enter = none): ");
    t.Send("Art. 227, \"possession\" only\n");
    EXPECT_SCREEN(t, "Saved.");
    EXPECT_SCREEN(t, "(7/27) c03_isp_reporting_duty");
    EXPECT_SCREEN(t, kPrompt);
    const int code = t.HangUp();
    CHECK(code == -SIGHUP);
  }

  {
    Pty t({ClientBin(), "survey", "--db", db});
    EXPECT_SCREEN(t, "Resuming at capability 3 (Legislation), indicator c03_isp_reporting_duty.");
    EXPECT_SCREEN(t, "(7/27) c03_isp_reporting_duty");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("q\n");
    EXPECT_SCREEN(t, "5 of 27 indicators answered for X01 (yes 2, partial 2, no 0, unknown 1)");
    REQUIRE(t.Finish() == 0);
  }

  const std::map<std::string, std::pair<std::string, std::string>> want = {
      {"c00_mnr_reference", {"yes", quoted_note}},
      {"c01_governance_mechanism", {"partial", ""}},
      {"c02_research_monitoring", {"unknown", french_note}},
      {"c03_criminalises_ocsea", {"yes", ""}},
      {"c03_criminalises_possession", {"partial", "Art. 227, \"possession\" only"}},
  };
  CHECK(ExportedAnswers(db) == want);
}

TEST_CASE("survey walks all 27 indicators to a summary, then starts over", "[e2e][survey]") {
  mnr::test::TempDir dir;
  const std::string db = InitStore(dir);
  {
    Pty t({ClientBin(), "survey", "--db", db});
    // Typed ahead: the line discipline queues the lines and the questionnaire reads one at a time.
    std::string typed;
    for (int i = 0; i < 27; ++i) typed += (i % 9 == 4 ? "n\n\n" : i % 9 == 7 ? "u\n\n" : "y\n\n");
    EXPECT_SCREEN(t, kPrompt);
    t.Send(typed);
    EXPECT_SCREEN(t, "End of the questionnaire.");
    EXPECT_SCREEN(t, "27 of 27 indicators answered for X01 (yes 21, partial 0, no 3, unknown 3)");
    REQUIRE(t.Finish() == 0);
  }
  {
    Pty t({ClientBin(), "survey", "--db", db});
    EXPECT_SCREEN(t, "(1/27) c00_mnr_reference");
    EXPECT_SCREEN(t, "Current answer: yes");
    EXPECT_SCREEN(t, kPrompt);
    t.Send("q\n");
    REQUIRE(t.Finish() == 0);
    CHECK(t.output().find("Resuming") == std::string::npos);
  }
  auto exported = ExportedAnswers(db);
  CHECK(exported.size() == 27);
  CHECK(exported["c03_criminalises_ocsea"] == std::make_pair(std::string("no"), std::string()));
  CHECK(exported["c03_laws_adequate"] == std::make_pair(std::string("unknown"), std::string()));
  CHECK(exported["c21_universal_terminology"] == std::make_pair(std::string("yes"), std::string()));
}

TEST_CASE("survey reports misuse and scope errors with exit codes", "[e2e][survey]") {
  mnr::test::TempDir dir;
  const std::string db = InitStore(dir);

  auto help = mnr::test::Run({ClientBin(), "survey", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("usage: mnr-client survey --db PATH") != std::string::npos);

  auto no_db = mnr::test::Run({ClientBin(), "survey"});
  CHECK(no_db.exit_code == 2);
  CHECK(no_db.err.find("--db") != std::string::npos);

  auto bad_lang = mnr::test::Run({ClientBin(), "survey", "--db", db, "--lang", "de"});
  CHECK(bad_lang.exit_code == 2);
  CHECK(bad_lang.err.find("--lang must be en or fr") != std::string::npos);

  auto other = mnr::test::Run({ClientBin(), "survey", "--db", db, "--country", "X02"}, "y\n\n");
  CHECK(other.exit_code == 1);
  CHECK(other.err.find("X02 is outside this store's scope (X01)") != std::string::npos);

  auto missing = mnr::test::Run({ClientBin(), "survey", "--db", dir / "nope.db"});
  CHECK(missing.exit_code == 1);
  CHECK(!missing.err.empty());

  // Not a terminal: still line-oriented, and end of input saves and stops.
  auto piped = mnr::test::Run({ClientBin(), "survey", "--db", db}, "n\nà confirmer\n");
  CHECK(piped.exit_code == 0);
  CHECK(piped.out.find("1 of 27 indicators answered for X01 (yes 0, partial 0, no 1, unknown 0)") !=
        std::string::npos);
  CHECK(ExportedAnswers(db)["c00_mnr_reference"] ==
        std::make_pair(std::string("no"), std::string("à confirmer")));
}

TEST_CASE("survey needs --country when the store may write several, and keeps one position per country",
          "[e2e][survey]") {
  mnr::test::TempDir dir;
  const std::string db = dir / "two.db";
  auto init = mnr::test::Run({ClientBin(), "init", "--db", db, "--country", "X01", "--country", "X02"});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);

  auto ambiguous = mnr::test::Run({ClientBin(), "survey", "--db", db}, "y\n\n");
  CHECK(ambiguous.exit_code == 2);
  CHECK(ambiguous.err.find("choose one with --country") != std::string::npos);

  auto x02 = mnr::test::Run({ClientBin(), "survey", "--db", db, "--country", "X02"}, "s\ny\n\nq\n");
  CHECK(x02.exit_code == 0);
  CHECK(x02.out.find("1 of 27 indicators answered for X02 (yes 1, partial 0, no 0, unknown 0)") !=
        std::string::npos);

  auto x01 = mnr::test::Run({ClientBin(), "survey", "--db", db, "--country", "X01"}, "q\n");
  CHECK(x01.exit_code == 0);
  CHECK(x01.out.find("Resuming") == std::string::npos);
  CHECK(x01.out.find("0 of 27 indicators answered for X01") != std::string::npos);

  auto again = mnr::test::Run({ClientBin(), "survey", "--db", db, "--country", "X02"}, "q\n");
  CHECK(again.out.find("Resuming at capability 1 (Leadership), indicator c01_national_strategy.") !=
        std::string::npos);
}
