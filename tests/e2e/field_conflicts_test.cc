// Field offices see what happened to their edits (issue 8, item 2), through the real binaries: the
// office whose edit lost a conflict is told on sync and in `status` until a coordinator resolves it,
// then told who decided and why; field credentials list and show the conflicts of their own
// countries only, and may not resolve.
#include <catch2/catch.hpp>

#include <regex>

#include "tests/e2e/sync_harness.h"

using namespace mnr::test;

namespace {

// The lines of `text` that start with "conflict ".
std::vector<std::string> ConflictLines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    if (line.rfind("conflict ", 0) == 0) out.push_back(line);
    at = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("The office whose edit lost a conflict is told on sync and in status until a coordinator resolves it") {
  SyncHarness h;
  const std::string laptop = h.NewFieldStore("Q01 laptop", {"Q01"});
  const std::string phone = h.NewFieldStore("Q01 phone", {"Q01"});
  // Both offline; the phone answers first, so the laptop's later edit wins meanwhile.
  Ok(h.Client({"answer", "--db", phone, "Q01", "c11_child_helpline", "no", "--note",
               "pilot only\tin two regions, national rollout planned for 2027"}));
  Ok(h.Client({"answer", "--db", laptop, "Q01", "c11_child_helpline", "yes"}));
  auto first = Ok(h.Sync(laptop));
  CHECK(ConflictLines(first.out).empty());  // no conflict exists yet

  auto lost = Ok(h.Sync(phone));
  CHECK(lost.out.rfind("synced: pushed 1 change-set(s), pulled 1 field(s)\n", 0) == 0);
  const auto told = ConflictLines(lost.out);
  REQUIRE(told.size() == 1);
  std::smatch m;
  REQUIRE(std::regex_search(told[0], m, std::regex("^conflict ([0-9]+) on Q01 c11_child_helpline: ")));
  const std::string id = m[1];
  // Its answer and note (shortened, the tab escaped), what won and on which device, and what happens next.
  CHECK_THAT(told[0], Catch::Contains("your answer \"no\" (note \"pilot only\\tin two regions, national ro"));
  CHECK_THAT(told[0], Catch::Contains("\u2026\") lost to \"yes\" from Q01 laptop"));
  CHECK(told[0].find("2027") == std::string::npos);
  CHECK(told[0].find('\t') == std::string::npos);
  CHECK_THAT(told[0], Catch::EndsWith("; open, a coordinator will decide"));

  auto status = Ok(h.Client({"status", "--db", phone}));
  CHECK_THAT(status.out, Catch::Contains("conflicts:   1 open on this device's edits"));
  CHECK_THAT(status.out, Catch::Contains("  " + told[0] + "\n"));
  // Said once per change: the next sync is quiet about it, status still lists it.
  auto again = Ok(h.Sync(phone));
  CHECK(ConflictLines(again.out).empty());
  CHECK_THAT(Ok(h.Client({"status", "--db", phone})).out, Catch::Contains("  " + told[0] + "\n"));

  // The laptop's edit is the current value: it is told that it stands for now.
  auto kept = Ok(h.Sync(laptop));
  const auto laptop_told = ConflictLines(kept.out);
  REQUIRE(laptop_told.size() == 1);
  CHECK_THAT(laptop_told[0], Catch::StartsWith("conflict " + id + " on Q01 c11_child_helpline: your answer \"yes\" is kept for now over \"no\""));
  CHECK_THAT(laptop_told[0], Catch::Contains("from Q01 phone"));

  auto resolve = h.Server({"conflicts", "resolve", "--data", h.data(), id, "--value", "partial", "--note", "two regions",
                           "--reason", "confirmed with the ministry", "--by", "Ada"});
  INFO(resolve.err);
  REQUIRE(resolve.exit_code == 0);

  auto resolved = Ok(h.Sync(phone));
  const auto news = ConflictLines(resolved.out);
  REQUIRE(news.size() == 1);
  CHECK(news[0] == "conflict " + id + " on Q01 c11_child_helpline: resolved by Ada (coordinator): \"partial\" (note \"two regions\") "
                   "\u2014 reason: \"confirmed with the ministry\"");
  auto after = Ok(h.Client({"status", "--db", phone}));
  CHECK_THAT(after.out, Catch::Contains("conflicts:   none open on this device's edits"));
  CHECK(after.out.find("c11_child_helpline: your answer") == std::string::npos);
  CHECK_THAT(Ok(h.Client({"export", "--db", phone, "--format", "csv"})).out, Catch::Contains("Q01,c11_child_helpline,partial,two regions"));
  CHECK(ConflictLines(Ok(h.Sync(phone)).out).empty());

  // The laptop's "yes" lost to the resolution: it is told too, once.
  auto laptop_resolved = Ok(h.Sync(laptop));
  REQUIRE(ConflictLines(laptop_resolved.out).size() == 1);
  CHECK_THAT(ConflictLines(laptop_resolved.out)[0], Catch::Contains("resolved by Ada (coordinator): \"partial\""));
  CHECK(ConflictLines(Ok(h.Sync(laptop)).out).empty());
}

TEST_CASE("A field credential lists and shows the conflicts of its own countries only and may not resolve") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("Q01 a", {"Q01"});
  const std::string b = h.NewFieldStore("Q01 b", {"Q01"});
  const std::string c = h.NewFieldStore("Q02 c", {"Q02"});
  const std::string d = h.NewFieldStore("Q02 d", {"Q02"});
  Ok(h.Client({"answer", "--db", a, "Q01", "c16_takedown_procedures", "yes"}));
  Ok(h.Client({"answer", "--db", b, "Q01", "c16_takedown_procedures", "unknown"}));
  Ok(h.Client({"answer", "--db", c, "Q02", "c13_education_programme", "no"}));
  Ok(h.Client({"answer", "--db", d, "Q02", "c13_education_programme", "partial"}));
  for (const auto& db : {a, b, c, d}) Ok(h.Sync(db));

  auto all = Ok(h.Server({"conflicts", "list", "--data", h.data()}));
  std::smatch m;
  REQUIRE(std::regex_search(all.out, m, std::regex("(^|\\n)([0-9]+) +open +answer/Q01/c16_takedown_procedures")));
  const std::string q01 = m[2];
  REQUIRE(std::regex_search(all.out, m, std::regex("(^|\\n)([0-9]+) +open +answer/Q02/c13_education_programme")));
  const std::string q02 = m[2];

  auto listed = h.Client({"conflicts", "list", "--db", a, "--server", h.address()});
  INFO(listed.err);
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::Contains(q01 + "  open  answer/Q01/c16_takedown_procedures"));
  CHECK(listed.out.find("Q02") == std::string::npos);
  auto listed_q02 = Ok(h.Client({"conflicts", "list", "--db", c, "--server", h.address(), "--all"}));
  CHECK_THAT(listed_q02.out, Catch::Contains("answer/Q02/c13_education_programme"));
  CHECK(listed_q02.out.find("Q01") == std::string::npos);

  auto shown = Ok(h.Client({"conflicts", "show", "--db", a, "--server", h.address(), q01}));
  CHECK_THAT(shown.out, Catch::Contains("conflict " + q01 + " (open) on answer/Q01/c16_takedown_procedures"));
  // Another country's conflict does not exist for this credential: the same answer as a wrong number.
  auto foreign = h.Client({"conflicts", "show", "--db", a, "--server", h.address(), q02});
  CHECK(foreign.exit_code == 1);
  CHECK_THAT(foreign.err, Catch::Contains("no conflict " + q02));
  CHECK(foreign.err.find("Q02") == std::string::npos);
  auto missing = h.Client({"conflicts", "show", "--db", a, "--server", h.address(), "999"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("no conflict 999"));

  auto resolve = h.Client({"conflicts", "resolve", "--db", a, "--server", h.address(), q01, "--value", "no", "--reason", "x"});
  CHECK(resolve.exit_code == 1);
  CHECK_THAT(resolve.err, Catch::Contains("field credentials may not call conflicts.resolve"));
  CHECK_THAT(Ok(h.Server({"conflicts", "list", "--data", h.data()})).out, Catch::Contains("answer/Q01/c16_takedown_procedures"));
}
