// The review loop between a field office and the coordinators (issue 8, items 3 to 5), through the
// real binaries: submit -> return with a query -> reply -> resubmit -> approve across syncs, an edit
// after approval, the coordinator's overview, and the release gate.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "mnr/sqlite.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr::test;

namespace {

// The first indicator of the questionnaire: the survey shows a query on it straight away.
constexpr const char* kFirstIndicator = "c00_mnr_reference";

std::string CoordinatorStore(SyncHarness& h, const std::string& name) {
  auto issued = h.Server({"issue", "--data", h.data(), "--role", "coordinator", "--name", name, "--out", h.CredentialPath(name)});
  INFO(issued.err);
  REQUIRE(issued.exit_code == 0);
  const std::string db = h.dir() / (name + ".db");
  auto init = h.Client({"init", "--db", db, "--credentials", h.CredentialPath(name)});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  return db;
}

// A field store whose device has a name of its own, as an office would give it.
std::string NamedFieldStore(SyncHarness& h, const std::string& name, const std::string& device, const std::string& country) {
  auto issued = h.Server({"issue", "--data", h.data(), "--role", "field", "--country", country, "--name", name, "--out",
                          h.CredentialPath(name)});
  INFO(issued.err);
  REQUIRE(issued.exit_code == 0);
  const std::string db = h.dir() / (name + ".db");
  auto init = h.Client({"init", "--db", db, "--credentials", h.CredentialPath(name), "--device", device});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  return db;
}

nlohmann::json ServerReview(SyncHarness& h) {
  auto r = h.Server({"review", "list", "--data", h.data(), "--format", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

nlohmann::json CountryOf(const nlohmann::json& overview, const std::string& code) {
  for (const auto& c : overview["countries"]) {
    if (c["country"] == code) return c;
  }
  FAIL("no country " << code << " in the overview");
  return {};
}

void Synced(SyncHarness& h, const std::string& db) {
  auto r = h.Sync(db);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("A survey goes from submitted to returned with a query, is answered, resubmitted and approved across syncs") {
  SyncHarness h;
  const std::string field = NamedFieldStore(h, "Q01 office", "Q01 laptop", "Q01");
  const std::string coord = CoordinatorStore(h, "Ada");
  REQUIRE(h.Client({"answer", "--db", field, "Q01", "c11_child_helpline", "yes", "--note", "ligne 116 111"}).exit_code == 0);

  // An incomplete survey is refused, naming what is missing, unless the office says otherwise.
  auto incomplete = h.Client({"submit", "--db", field});
  CHECK(incomplete.exit_code == 1);
  CHECK(incomplete.out.find("26 of 27 indicators unanswered") != std::string::npos);
  CHECK(incomplete.out.find(kFirstIndicator) != std::string::npos);
  CHECK(incomplete.err.find("--allow-incomplete") != std::string::npos);
  CHECK(CountryOf(ServerReview(h), "Q01")["review"]["state"] == "draft");
  auto submitted = h.Client({"submit", "--db", field, "--allow-incomplete"});
  INFO(submitted.err);
  REQUIRE(submitted.exit_code == 0);
  // Offline, the office already sees its survey as submitted; the server learns it on sync.
  CHECK(h.Client({"status", "--db", field}).out.find("review:      Q01 submitted") != std::string::npos);
  CHECK(CountryOf(ServerReview(h), "Q01")["review"]["state"] == "draft");
  Synced(h, field);
  CHECK(CountryOf(ServerReview(h), "Q01")["review"]["state"] == "submitted");

  // The coordinator returns it from their own machine with a query on one indicator.
  auto returned = h.Client({"review", "return", "--db", coord, "--server", h.address(), "Q01", "--comment",
                            "Précisez la référence au MNR", "--indicator", kFirstIndicator});
  INFO(returned.err);
  REQUIRE(returned.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(returned.out, m, std::regex("query (q[0-9]+)")));
  const std::string query = m[1];
  const auto after_return = CountryOf(ServerReview(h), "Q01");
  CHECK(after_return["review"]["state"] == "returned");
  CHECK(after_return["open_queries"] == 1);
  CHECK(after_return["review"]["decided_by"] == "Ada");

  // The office sees the decision and the query on its next sync: in status and next to the indicator.
  Synced(h, field);
  auto status = h.Client({"status", "--db", field});
  INFO(status.out);
  CHECK(status.out.find("review:      Q01 returned by Ada: Précisez la référence au MNR") != std::string::npos);
  CHECK(status.out.find("query " + query + " on " + kFirstIndicator + " from Ada") != std::string::npos);
  auto survey = Run({MNR_CLIENT_BIN, "survey", "--db", field, "--country", "Q01", "--lang", "fr"}, "q\n");
  INFO(survey.out);
  CHECK(survey.out.find("Question du coordinateur " + query + " : Précisez la référence au MNR") != std::string::npos);
  auto log = h.Client({"log", "--db", field, "--limit", "0"});
  CHECK(log.out.find("query/Q01/" + query + "/question") != std::string::npos);

  // A reply to a query the store does not hold is refused and writes nothing.
  auto unknown = h.Client({"reply", "--db", field, "q999", "--text", "?"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("no query q999") != std::string::npos);
  REQUIRE(h.Client({"reply", "--db", field, query, "--text", "Référence ajoutée à la stratégie"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", field, "Q01", kFirstIndicator, "partial"}).exit_code == 0);
  REQUIRE(h.Client({"submit", "--db", field, "--allow-incomplete"}).exit_code == 0);
  Synced(h, field);
  const auto resubmitted = CountryOf(ServerReview(h), "Q01");
  CHECK(resubmitted["review"]["state"] == "submitted");
  CHECK(resubmitted["open_queries"] == 0);
  auto shown = h.Server({"review", "show", "--data", h.data(), "Q01"});
  INFO(shown.out);
  CHECK(shown.out.find("reply: Référence ajoutée à la stratégie") != std::string::npos);
  CHECK(shown.out.find("by Q01 laptop") != std::string::npos);

  // A field credential may not decide; the coordinator approves, and the office learns it on sync.
  auto self_approve = h.Client({"review", "approve", "--db", field, "--server", h.address(), "Q01"});
  CHECK(self_approve.exit_code != 0);
  CHECK(CountryOf(ServerReview(h), "Q01")["review"]["state"] == "submitted");
  auto approved = h.Client({"review", "approve", "--db", coord, "--server", h.address(), "Q01", "--comment", "merci"});
  INFO(approved.err);
  REQUIRE(approved.exit_code == 0);
  CHECK(CountryOf(ServerReview(h), "Q01")["review"]["state"] == "approved");
  Synced(h, field);
  CHECK(h.Client({"status", "--db", field}).out.find("review:      Q01 approved by Ada") != std::string::npos);

  // An edit after approval makes the survey submitted again, visibly, until the coordinator decides.
  REQUIRE(h.Client({"answer", "--db", field, "Q01", "c12_reporting_hotline", "no"}).exit_code == 0);
  Synced(h, field);
  const auto edited = CountryOf(ServerReview(h), "Q01");
  CHECK(edited["review"]["state"] == "submitted");
  CHECK(edited["review"]["edited_after_approval"] == true);
  auto list = h.Server({"review", "list", "--data", h.data()});
  CHECK(list.out.find("submitted*") != std::string::npos);
  CHECK(list.out.find("edited after approval") != std::string::npos);

  // Every decision and query is in the audit log with who made it, and the log still verifies.
  auto audit = h.Server({"audit", "log", "--data", h.data(), "--format", "json"});
  REQUIRE(audit.exit_code == 0);
  int decisions = 0, queries = 0, reopened = 0;
  for (const auto& r : nlohmann::json::parse(audit.out)) {
    const std::string f = r.value("field", "");
    if (f == "review/Q01/submitted" && r.value("name", "") == "mnr-server") {
      ++reopened;
      CHECK(r.value("reason", "").find("edited after approval by device") != std::string::npos);
    }
    if (f == "review/Q01/decision") {
      ++decisions;
      CHECK(r.value("name", "").rfind("Ada (cred-", 0) == 0);
    }
    if (f.rfind("query/Q01/" + query + "/question", 0) == 0) ++queries;
  }
  CHECK(decisions == 2);
  CHECK(queries == 1);
  CHECK(reopened == 1);
  // The office learns it on its next sync, and further edits do not reopen it again.
  Synced(h, field);
  CHECK(h.Client({"status", "--db", field}).out.find("review:      Q01 submitted (edited after approval") != std::string::npos);
  REQUIRE(h.Client({"answer", "--db", field, "Q01", "c12_reporting_hotline", "yes"}).exit_code == 0);
  Synced(h, field);
  CHECK(CountryOf(ServerReview(h), "Q01")["review"]["state"] == "submitted");
  auto verify = h.Server({"audit", "verify", "--data", h.data()});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("The coordinator's overview shows per country the answers, review, devices by name and their last sync") {
  SyncHarness h;
  const std::string field = NamedFieldStore(h, "Q02 office", "Q02 desktop", "Q02");
  const std::string coord = CoordinatorStore(h, "Ada");
  REQUIRE(h.Client({"answer", "--db", field, "Q02", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", field, "Q02", "c12_reporting_hotline", "unknown"}).exit_code == 0);
  REQUIRE(h.Client({"practice", "add", "--db", field, "--country", "Q02", "--capability", "11", "--kind", "good_practice",
                    "--title", "Helpline", "--text", "24/7"}).exit_code == 0);
  Synced(h, field);

  auto json = h.Server({"status", "--data", h.data(), "--format", "json"});
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  const auto overview = nlohmann::json::parse(json.out);
  const auto q02 = CountryOf(overview, "Q02");
  CHECK(q02["answered"] == 2);
  CHECK(q02["indicators"] == 27);
  CHECK(q02["practices"] == 1);
  CHECK(q02["review"]["state"] == "draft");
  REQUIRE(q02["devices"].size() == 1);
  CHECK(q02["devices"][0]["name"] == "Q02 desktop");
  CHECK(q02["devices"][0]["credential_name"] == "Q02 office");
  CHECK(q02["devices"][0]["last_sync_at"].is_number_integer());
  CHECK(CountryOf(overview, "Q01")["devices"].empty());
  CHECK(overview["totals"]["countries"] == 3);
  CHECK(overview["totals"]["answered"] == 2);
  CHECK(overview["totals"]["draft"] == 3);

  // Remotely, for a coordinator; a field credential is refused.
  auto remote = h.Client({"status", "--db", coord, "--all", "--server", h.address()});
  INFO(remote.err);
  REQUIRE(remote.exit_code == 0);
  CHECK(std::regex_search(remote.out, std::regex("Q02 +\\S.* 2/27 +1 +draft .*Q02 desktop \\(20")));
  CHECK(remote.out.find("total: 3 countries (0 approved, 0 submitted, 0 returned, 3 draft); 2/81 answers") != std::string::npos);
  auto refused = h.Client({"status", "--db", field, "--all", "--server", h.address()});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("field credentials may not call status.overview") != std::string::npos);
}

TEST_CASE("A release is refused while conflicts are open or countries are not approved, and the flags let it through provisionally") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q01-a", {"Q01"});
  const std::string b = h.NewFieldStore("q01-b", {"Q01"});
  // Two devices answer the same indicator without seeing each other: a conflict.
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c13_education_programme", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", b, "Q01", "c13_education_programme", "no"}).exit_code == 0);
  REQUIRE(h.Client({"submit", "--db", a, "--allow-incomplete"}).exit_code == 0);
  Synced(h, a);
  Synced(h, b);

  auto refused = h.Server({"release", "--data", h.data(), "--label", "r1"});
  CHECK(refused.exit_code == 1);
  INFO(refused.err);
  CHECK(refused.err.find("1 open conflict(s): ") != std::string::npos);
  CHECK(refused.err.find("answer/Q01/c13_education_programme") != std::string::npos);
  CHECK(refused.err.find("3 countries not approved: Q01 (submitted), Q02 (draft), Q03 (draft)") != std::string::npos);
  CHECK(h.Server({"releases", "list", "--data", h.data()}).out.find("r1") == std::string::npos);
  // One flag is not enough while the other reason stands.
  CHECK(h.Server({"release", "--data", h.data(), "--label", "r1", "--allow-unapproved"}).exit_code == 1);

  auto provisional = h.Server({"release", "--data", h.data(), "--label", "r1", "--allow-unapproved", "--allow-open-conflicts"});
  INFO(provisional.err);
  REQUIRE(provisional.exit_code == 0);
  CHECK(provisional.out.find("provisional     1 open conflict(s), 3 countries not approved") != std::string::npos);
  auto shown = h.Server({"releases", "show", "--data", h.data(), "r1"});
  INFO(shown.out);
  CHECK(shown.out.find("\"provisional\":{\"open_conflicts\":[{\"field\":\"answer/Q01/c13_education_programme\"") != std::string::npos);
  CHECK(shown.out.find("{\"country\":\"Q02\",\"state\":\"draft\"}") != std::string::npos);
  const std::string site = h.dir() / "site";
  auto published = h.Server({"publish", "--data", h.data(), "--release", "r1", "--out", site, "--lang", "fr"});
  INFO(published.err);
  REQUIRE(published.exit_code == 0);
  const std::string page = ReadText(site + "/index.html");
  CHECK(page.find("id=\"provisional\"") != std::string::npos);
  CHECK(page.find("Pas encore approuvés : soumis (1) : Q01 ; brouillon (2) : Q02, Q03") != std::string::npos);

  // Resolved and approved, the next release passes without flags and is not provisional.
  auto list = h.Server({"conflicts", "list", "--data", h.data()});
  std::smatch m;
  REQUIRE(std::regex_search(list.out, m, std::regex("(^|\\n)\\s*#?([0-9]+)")));
  REQUIRE(h.Server({"conflicts", "resolve", "--data", h.data(), m[2], "--value", "yes", "--reason", "checked", "--by", "Ada"}).exit_code == 0);
  REQUIRE(h.Server({"review", "approve", "--data", h.data(), "Q01", "--by", "Ada"}).exit_code == 0);
  // A draft cannot be approved: an office must submit first.
  auto draft = h.Server({"review", "approve", "--data", h.data(), "Q02", "--by", "Ada"});
  CHECK(draft.exit_code == 1);
  CHECK(draft.err.find("Q02 is draft") != std::string::npos);
  for (const std::string country : {"Q02", "Q03"}) {
    const std::string db = h.NewFieldStore("office-" + country, {country});
    REQUIRE(h.Client({"submit", "--db", db, "--allow-incomplete"}).exit_code == 0);
    Synced(h, db);
    REQUIRE(h.Server({"review", "approve", "--data", h.data(), country, "--by", "Ada"}).exit_code == 0);
  }
  auto final_release = h.Server({"release", "--data", h.data(), "--label", "r2"});
  INFO(final_release.err);
  REQUIRE(final_release.exit_code == 0);
  CHECK(final_release.out.find("provisional") == std::string::npos);
  CHECK(h.Server({"releases", "show", "--data", h.data(), "r2"}).out.find("provisional") == std::string::npos);
}

TEST_CASE("A field office's change-set that tries to approve its own survey is refused whole") {
  SyncHarness h;
  const std::string field = h.NewFieldStore("q03", {"Q03"});
  REQUIRE(h.Client({"submit", "--db", field, "--allow-incomplete"}).exit_code == 0);
  // The client offers no way to decide, so the decision is written into the store as a local edit.
  {
    auto db = mnr::Db::Open(field, false);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("INSERT INTO change_log (hlc, author, field, old_value, new_value, origin, parents, created_at) "
                        "SELECT MAX(hlc) + 1, author, 'review/Q03/decision', NULL, 'approved\n', 'local', '', 0 "
                        "FROM change_log WHERE origin = 'local'").ok());
  }
  auto r = h.Sync(field);
  CHECK(r.exit_code == 4);
  CHECK((r.out + r.err).find("only a coordinator approves") != std::string::npos);
  CHECK(CountryOf(ServerReview(h), "Q03")["review"]["state"] == "draft");
}

TEST_CASE("The review loop runs through USB bundles and return bundles alone, with no link") {
  SyncHarness h;
  const std::string field = NamedFieldStore(h, "Q03 office", "Q03 laptop", "Q03");
  int trip = 0;
  // The office's stick to the server, then the server's return stick to the office.
  const auto round_trip = [&]() {
    ++trip;
    const std::string out = h.dir() / ("office-" + std::to_string(trip) + ".mnrb");
    auto written = h.Client({"bundle", "--db", field, "--out", out});
    INFO(written.out << written.err);
    REQUIRE(written.exit_code == 0);
    auto applied = h.Server({"import-bundle", "--data", h.data(), out});
    INFO(applied.out << applied.err);
    REQUIRE(applied.exit_code == 0);
  };
  const auto back = [&]() {
    const std::string ret = h.dir() / ("return-" + std::to_string(trip) + ".mnrr");
    auto written = h.Server({"bundle", "--data", h.data(), "--country", "Q03", "--out", ret});
    INFO(written.out << written.err);
    REQUIRE(written.exit_code == 0);
    auto imported = h.Client({"import-bundle", "--db", field, ret});
    INFO(imported.out << imported.err);
    REQUIRE(imported.exit_code == 0);
  };

  REQUIRE(h.Client({"answer", "--db", field, "Q03", "c11_child_helpline", "no"}).exit_code == 0);
  REQUIRE(h.Client({"submit", "--db", field, "--allow-incomplete"}).exit_code == 0);
  round_trip();
  CHECK(CountryOf(ServerReview(h), "Q03")["review"]["state"] == "submitted");
  auto returned = h.Server({"review", "return", "--data", h.data(), "Q03", "--comment", "Helpline: source?", "--indicator",
                            "c11_child_helpline", "--by", "Ada"});
  INFO(returned.err);
  REQUIRE(returned.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(returned.out, m, std::regex("query (q[0-9]+)")));
  const std::string query = m[1];
  back();
  auto status = h.Client({"status", "--db", field});
  CHECK(status.out.find("review:      Q03 returned by Ada: Helpline: source?") != std::string::npos);
  CHECK(status.out.find("query " + query + " on c11_child_helpline from Ada") != std::string::npos);

  REQUIRE(h.Client({"reply", "--db", field, query, "--text", "Ministry report 2024"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", field, "Q03", "c11_child_helpline", "partial"}).exit_code == 0);
  REQUIRE(h.Client({"submit", "--db", field, "--allow-incomplete"}).exit_code == 0);
  round_trip();
  const auto resubmitted = CountryOf(ServerReview(h), "Q03");
  CHECK(resubmitted["review"]["state"] == "submitted");
  CHECK(resubmitted["open_queries"] == 0);
  REQUIRE(h.Server({"review", "approve", "--data", h.data(), "Q03", "--by", "Ada"}).exit_code == 0);
  back();
  CHECK(h.Client({"status", "--db", field}).out.find("review:      Q03 approved by Ada") != std::string::npos);
  // Everything the office sent is acknowledged, with receipts that verify.
  CHECK(h.Client({"status", "--db", field}).out.find("outbox:      0 change-sets") != std::string::npos);
  auto receipts = h.Client({"receipts", "--db", field, "--verify"});
  INFO(receipts.out << receipts.err);
  CHECK(receipts.exit_code == 0);
  CHECK(std::regex_search(receipts.out, std::regex("newest tree head: [0-9]+:[0-9a-f]{64} \\(check an audit export with "
                                                   "`mnr-audit verify FILE --tree-head [0-9]+:[0-9a-f]{64}`\\)")));
}

TEST_CASE("A return asks each indicator its own question, or the comment when it names none, and refuses a mistake whole") {
  SyncHarness h;
  const std::string field = NamedFieldStore(h, "Q02 office", "Q02 laptop", "Q02");
  const std::string coord = CoordinatorStore(h, "Grace");
  REQUIRE(h.Client({"answer", "--db", field, "Q02", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"submit", "--db", field, "--allow-incomplete"}).exit_code == 0);
  Synced(h, field);
  const auto queries_of = [&] {
    std::map<std::string, std::string> out;
    const auto country = CountryOf(ServerReview(h), "Q02");
    for (const auto& q : country["queries"]) out[q["indicator"]] = q["text"];
    return out;
  };

  // A mistake anywhere in the list changes nothing: an unknown indicator, or one named twice.
  auto unknown = h.Server({"review", "return", "--data", h.data(), "Q02", "--comment", "Voir les questions",
                           "--indicator", "c11_child_helpline=Depuis quand ?", "--indicator", "c99_no_such=?"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("indicator c99_no_such is not in survey schema") != std::string::npos);
  auto twice = h.Client({"review", "return", "--db", coord, "--server", h.address(), "Q02", "--comment", "Voir les questions",
                         "--indicator", "c11_child_helpline", "--indicator", "c11_child_helpline=Depuis quand ?"});
  CHECK(twice.exit_code != 0);
  CHECK(twice.err.find("indicator c11_child_helpline is named twice") != std::string::npos);
  CHECK(CountryOf(ServerReview(h), "Q02")["review"]["state"] == "submitted");
  CHECK(queries_of().empty());

  // From the coordinator's own machine: one indicator with a question of its own (an '=' inside the
  // text is part of it), one that takes the comment.
  auto returned = h.Client({"review", "return", "--db", coord, "--server", h.address(), "Q02", "--comment",
                            "Merci de compléter", "--indicator", "c11_child_helpline=Numéro gratuit ? (oui = 116 111)",
                            "--indicator", "c12_reporting_hotline"});
  INFO(returned.err);
  REQUIRE(returned.exit_code == 0);
  CHECK(returned.out.find("Q02 returned with queries ") == 0);
  const std::map<std::string, std::string> expected = {{"c11_child_helpline", "Numéro gratuit ? (oui = 116 111)"},
                                                       {"c12_reporting_hotline", "Merci de compléter"}};
  CHECK(queries_of() == expected);

  // The office sees each question on its own indicator.
  Synced(h, field);
  auto status = h.Client({"status", "--db", field});
  INFO(status.out);
  CHECK(status.out.find("on c11_child_helpline from Grace: Numéro gratuit ? (oui = 116 111)") != std::string::npos);
  CHECK(status.out.find("on c12_reporting_hotline from Grace: Merci de compléter") != std::string::npos);
}
