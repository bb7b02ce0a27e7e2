// mnr_bench: what merging costs on the server, as ratios against baselines measured in the same run
// (these machines are noisy; absolute times are printed for context only).
//   1. Sealing and opening a 200-operation change-set vs. serializing it (the price of sign + zstd +
//      X25519/AES-GCM per change-set).
//   2. ReceiveChangeSet, server/intake.h (open, verify, scope-check, store, merge, one durable transaction)
//      vs. a bare SQLite insert of the same sealed bytes in its own durable transaction.
//   3. The server CPU time of one change-set (this thread's, so other load on the machine does not
//      count) after 50, 150, 300, 1,000 and 10,000 change-sets of history: it should not grow.
// Usage: mnr_bench [CHANGESETS]   (default 300)
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mnr/changeset.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/sqlite.h"
#include "server/intake.h"
#include "server/server_store.h"
#include "tests/support/process.h"

using namespace mnr;
using Clock = std::chrono::steady_clock;

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

template <class F>
double Time(F&& f) {
  const auto start = Clock::now();
  f();
  return Seconds(Clock::now() - start);
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "mnr_bench: %s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 300;
  test::TempDir dir;
  const std::string data = dir / "server";
  Check(server::ServerStore::Init(data, {}, "127.0.0.1:7443"), "init");
  auto store = server::ServerStore::Open(data);
  Check(store.status(), "open");
  // A realistic spread: 42 countries x every indicator, so each field sees a few dozen edits over the run.
  std::vector<server::Country> countries;
  std::vector<std::string> codes;
  for (int c = 1; c <= 42; ++c) {
    codes.push_back((c < 10 ? "X0" : "X") + std::to_string(c));
    countries.push_back({codes.back(), "Placeholder " + codes.back(), c <= 15 ? "high" : "upper_middle", "africa"});
  }
  Check(ImportCountries((*store)->db(), countries), "countries");
  auto cred = IssueCredential((*store)->db(), (*store)->paths(), Role::kField, codes, "bench", 86400);
  Check(cred.status(), "issue");
  const auto& schema = (*store)->schema();

  // n change-sets of 200 operations each, cycling over the indicators, each edit building on the last.
  std::vector<std::string> bodies;
  const std::size_t fields = codes.size() * schema.indicators().size();
  std::vector<std::string> last_version(fields);
  HlcTime t = HybridClock::Make(1'760'000'000'000ULL, 0);
  for (int i = 0; i < n; ++i) {
    ChangeSet cs;
    cs.schema_version = static_cast<std::uint32_t>(schema.version());
    cs.device_id = "benchdevice";
    cs.credential_id = cred->id;
    cs.seq = static_cast<std::uint64_t>(i + 1);
    for (int k = 0; k < 200; ++k) {
      const std::size_t ind = static_cast<std::size_t>(i * 200 + k) % fields;
      Operation op;
      op.field = AnswerField(codes[ind / schema.indicators().size()], schema.indicators()[ind % schema.indicators().size()].id);
      op.new_value = EncodeAnswer({static_cast<Answer>(k % 4), "note " + std::to_string(i) + "/" + std::to_string(k)});
      op.hlc = ++t;
      op.author = "benchdevice";
      if (!last_version[ind].empty()) op.parents = {last_version[ind]};
      last_version[ind] = OperationVersion(op);
      cs.ops.push_back(std::move(op));
    }
    cs.created = t;
    bodies.push_back(SerializeChangeSet(cs));
  }

  std::vector<std::string> sealed(bodies.size());
  const double serialize = Time([&] {
    for (int i = 0; i < n; ++i) (void)ParseChangeSet(bodies[static_cast<std::size_t>(i)]);
  });
  const double seal = Time([&] {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      auto s = SealChangeSet(bodies[i], cred->private_key_pem, cred->sealing_public_key);
      Check(s.status(), "seal");
      sealed[i] = *s;
    }
  });
  auto priv = (*store)->SealingPrivateKey();
  Check(priv.status(), "sealing key");
  const double open = Time([&] {
    for (const auto& s : sealed) Check(OpenChangeSet(s, *priv).status(), "open");
  });

  // Baseline: the same bytes into a table of their own, one durable transaction each (what any server
  // must do at least to acknowledge safely).
  auto raw = Db::Open(dir / "baseline.db", true);
  Check(raw.status(), "baseline db");
  Check((*raw)->Exec("CREATE TABLE blobs (id INTEGER PRIMARY KEY, bytes BLOB)"), "baseline table");
  const double baseline = Time([&] {
    for (const auto& s : sealed) {
      Transaction tx(**raw);
      auto st = (*raw)->Prepare("INSERT INTO blobs (bytes) VALUES (?)");
      Check(st.status(), "prepare");
      st->BindBlob(1, s);
      Check(st->Run(), "insert");
      Check(tx.Commit(), "commit");
    }
  });
  std::vector<double> cpu(sealed.size());
  const double intake = Time([&] {
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      const auto& s = sealed[i];
      const double before = ThreadCpuSeconds();
      auto r = ReceiveChangeSet(**store, s, nullptr, 1'760'000'000);
      cpu[i] = ThreadCpuSeconds() - before;
      if (r.refusal) {
        std::fprintf(stderr, "mnr_bench: refused: %s\n", r.refusal->reason.c_str());
        std::exit(1);
      }
    }
  });
  const double replay = Time([&] {
    for (const auto& s : sealed) (void)ReceiveChangeSet(**store, s, nullptr, 1'760'000'000);
  });

  std::printf("change-sets: %d x 200 operations over %zu fields (%zu bytes sealed on average)\n", n, fields, [&] {
    std::size_t total = 0;
    for (const auto& s : sealed) total += s.size();
    return total / sealed.size();
  }());
  std::printf("%-44s %9.3f ms/change-set\n", "parse (baseline for the envelope)", 1000 * serialize / n);
  std::printf("%-44s %9.3f ms/change-set  x%.1f parse\n", "sign + compress + seal", 1000 * seal / n, seal / serialize);
  std::printf("%-44s %9.3f ms/change-set  x%.1f parse\n", "unseal + decompress + parse", 1000 * open / n, open / serialize);
  std::printf("%-44s %9.3f ms/change-set\n", "durable SQLite insert of the bytes (baseline)", 1000 * baseline / n);
  std::printf("%-44s %9.3f ms/change-set  x%.1f baseline\n", "server intake: verify + store + merge", 1000 * intake / n, intake / baseline);
  std::printf("%-44s %9.3f ms/change-set  x%.1f baseline\n", "the same change-sets again (duplicates)", 1000 * replay / n, replay / baseline);
  // Mean CPU of the 10 change-sets after `history` were stored.
  for (int history : {0, 50, 150, 300, 1000, 3000, 10000}) {
    if (history + 10 > n) break;
    double sum = 0;
    for (int i = history; i < history + 10; ++i) sum += cpu[static_cast<std::size_t>(i)];
    std::printf("server CPU per change-set after %5d change-sets %9.3f ms\n", history, 1000 * sum / 10);
  }
  return 0;
}
