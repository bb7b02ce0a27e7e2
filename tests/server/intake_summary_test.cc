// Intake's constant-cost bookkeeping (server_store.cc): merging a field from its summary, and the
// per-device acked-through. Both must agree with what recomputing from the stored history gives.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "server/dataset.h"
#include "server/intake.h"
#include "server/merged_state.h"
#include "tests/server/fixture.h"

namespace mnr::server {
using namespace testing;

namespace {

struct Step {
  bool device_b;
  std::string field;
  std::string value;
  bool knows_latest;  // names the field's latest version as parent (it pulled), else its own last edit
};

// The same random two-device history into `w`; with `whole_history`, every field's summary is erased
// first, so each intake merges from the whole history.
void Play(ServerWorld& w, const std::vector<Step>& steps, bool whole_history) {
  std::map<std::string, std::string> latest, own_a, own_b;
  std::uint64_t seq_a = 0, seq_b = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const std::string device = s.device_b ? "dev-b" : "dev-a";
    auto& own = s.device_b ? own_b : own_a;
    std::vector<std::string> parents;
    const std::string& known = s.knows_latest ? latest[s.field] : own[s.field];
    if (!known.empty()) parents.push_back(known);
    Operation op = Edit(s.field, Answer(s.value), T(i + 1), device, parents);
    const std::string version = OperationVersion(op);
    own[s.field] = latest[s.field] = version;
    if (whole_history) REQUIRE(w.store->db().Exec("UPDATE fields SET heads = NULL").ok());
    const Credential& c = s.device_b ? w.q01b : w.q01a;
    auto r = w.Receive(Seal(MakeChangeSet(c, device, s.device_b ? ++seq_b : ++seq_a, {op}), c));
    INFO((r.refusal ? r.refusal->reason : std::string()));
    REQUIRE(r.outcome);
  }
}

}  // namespace

TEST_CASE("Merging a field from its summary gives the state merging its whole history gives") {
  std::mt19937 rng(11);
  const std::vector<std::string> fields = {AnswerField("Q01", "c01_governance_mechanism"),
                                           AnswerField("Q01", "c01_national_strategy"),
                                           AnswerField("Q01", "c02_research_monitoring")};
  const std::vector<std::string> values = {"yes", "no", "partial"};
  for (int round = 0; round < 4; ++round) {
    std::vector<Step> steps;
    for (int i = 0; i < 40; ++i) {
      steps.push_back({rng() % 2 == 0, fields[rng() % fields.size()], values[rng() % values.size()], rng() % 4 != 0});
    }
    ServerWorld summary, whole;
    Play(summary, steps, false);
    Play(whole, steps, true);
    CHECK(summary.Hash() == whole.Hash());
    CHECK(summary.Count("conflicts") == whole.Count("conflicts"));
    CHECK(CheckDatasetAgainstRecount(summary.store->db()).ok());
  }
}

TEST_CASE("Two devices answering one indicator differently leave the dataset equal to a recount in either sync order") {
  const std::string f = AnswerField("Q01", "c11_child_helpline");
  for (bool later_first : {true, false}) {
    INFO("later edit synced first: " << later_first);
    ServerWorld w;
    // Offline on both: device a answers first, device b later; neither has seen the other's edit.
    const Operation early = Edit(f, Answer("no", "pilot only"), T(1), "dev-a");
    const Operation late = Edit(f, Answer("yes"), T(2), "dev-b");
    auto send_a = [&] { return w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {early}), w.q01a)); };
    auto send_b = [&] { return w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {late}), w.q01b)); };
    for (bool b : {later_first, !later_first}) {
      auto r = b ? send_b() : send_a();
      INFO((r.refusal ? r.refusal->reason : std::string()));
      REQUIRE(r.outcome);
      CHECK(CheckDatasetAgainstRecount(w.store->db()).ok());
    }
    CHECK(w.Field(f)->value == Answer("yes"));
    auto open = Conflicts(w.store->db(), true);
    REQUIRE(open.ok());
    REQUIRE(open->size() == 1);

    // A coordinator settles it, then device a edits again on top of the settled value.
    Status resolved = ResolveConflict(w.store->db(), open->front().id, Answer("partial"), "Ada", "confirmed");
    INFO(resolved.message());
    REQUIRE(resolved.ok());
    CHECK(CheckDatasetAgainstRecount(w.store->db()).ok());
    const auto settled = w.Field(f);
    REQUIRE(settled);
    auto r = w.Receive(Seal(
        MakeChangeSet(w.q01a, "dev-a", 2, {Edit(f, Answer("no"), settled->hlc + 1, "dev-a", {settled->version})}), w.q01a));
    INFO((r.refusal ? r.refusal->reason : std::string()));
    REQUIRE(r.outcome);
    CHECK(w.Field(f)->value == Answer("no"));
    Status recount = CheckDatasetAgainstRecount(w.store->db());
    INFO(recount.message());
    CHECK(recount.ok());
  }
}

TEST_CASE("Acked-through counts the change-sets a device stored without a gap, across a restart") {
  ServerWorld w;
  auto send = [&](std::uint64_t seq) {
    const std::string f = AnswerField("Q01", "c01_national_strategy");
    auto r = w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", seq, {Edit(f, Answer("yes"), T(seq), "dev-a")}), w.q01a));
    INFO((r.refusal ? r.refusal->reason : std::string()));
    REQUIRE(r.outcome);
    return r.outcome->acked_through;
  };
  CHECK(send(1) == 1);
  CHECK(send(3) == 1);
  CHECK(send(4) == 1);
  w.Reopen();
  CHECK(AckedThrough(w.store->db(), "dev-a") == 1);
  CHECK(send(2) == 4);
  CHECK(AckedThrough(w.store->db(), "dev-a") == 4);
  CHECK(AckedThrough(w.store->db(), "dev-unknown") == 0);
}

}  // namespace mnr::server
