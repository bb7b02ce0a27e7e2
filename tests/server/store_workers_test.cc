#include "server/register.h"
#include "server/store_workers.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

struct Handed {
  std::vector<StoreWorkers::Received> received;
  bool done = false;
};

asio::awaitable<void> HandOver(StoreWorkers& workers, std::vector<std::string> sealed, CredentialRecord cred,
                               std::uint64_t session, Handed& out) {
  out.received = co_await workers.ReceiveAll(std::move(sealed), std::move(cred), session, NowSeconds());
  out.done = true;
}

// One session's hand-over with nothing else running, to its end.
Handed HandOverAlone(StoreWorkers& workers, std::vector<std::string> sealed, CredentialRecord cred, std::uint64_t session) {
  Handed out;
  asio::io_context io(1);
  asio::co_spawn(io, HandOver(workers, std::move(sealed), std::move(cred), session, out), asio::detached);
  io.run();
  return out;
}

// Keeps the writer busy until `n` checked change-sets wait for it, so that they form one group.
asio::awaitable<void> HoldWriterUntil(StoreWorkers& workers, std::size_t n) {
  const auto hold = [&workers, n](ServerStore&) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (workers.QueuedChangeSets() < n && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return workers.QueuedChangeSets();
  };
  const std::size_t queued = co_await workers.Write(hold);
  CHECK(queued == n);
}

std::int64_t StoredOfDevice(ServerWorld& w, const std::string& device) {
  auto st = w.store->db().Prepare("SELECT COUNT(*) FROM changesets WHERE device_id = ?");
  REQUIRE(st.ok());
  st->Bind(1, device);
  auto row = st->Step();
  REQUIRE(row.ok());
  return st->Int(0);
}

asio::awaitable<void> TryToWrite(StoreWorkers& workers, Status& wrote) {
  const auto write = [](ServerStore& store) { return store.db().Exec("DELETE FROM countries"); };
  wrote = co_await workers.Read(write);
}

asio::awaitable<void> ThrowInAJob(StoreWorkers& workers, std::string& caught) {
  const auto fail = [](ServerStore&) -> int { throw std::runtime_error("a bug in a job"); };
  try {
    (void)co_await workers.Read(fail);
  } catch (const std::exception& e) {
    caught = e.what();
  }
}

}  // namespace

TEST_CASE("server store workers: change-sets handed over together are stored in one commit, and a refusal stops only its own sync") {
  ServerWorld w;
  // dev-c's change-set 1 is already stored: sending other content under the same number is refused
  // by the writer, inside the group.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-c", 1, {Edit(kC11, Answer("yes"), T(1), "dev-c")}), w.q01b)).outcome);
  auto workers = StoreWorkers::Open(w.dir, 2);
  REQUIRE(workers.ok());

  const std::string q02_field = AnswerField("Q02", "c00_mnr_reference");
  std::vector<std::string> a = {Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(2), "dev-a")}), w.q01a),
                                Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(kC00, Answer("no"), T(3), "dev-a")}), w.q01a)};
  std::vector<std::string> c = {Seal(MakeChangeSet(w.q01b, "dev-c", 1, {Edit(kC11, Answer("no"), T(4), "dev-c")}), w.q01b),
                                Seal(MakeChangeSet(w.q01b, "dev-c", 2, {Edit(kC11, Answer("partly"), T(5), "dev-c")}), w.q01b)};
  std::vector<std::string> d = {Seal(MakeChangeSet(w.q02, "dev-d", 1, {Edit(q02_field, Answer("yes"), T(6), "dev-d")}), w.q02),
                                "not a sealed change-set",
                                Seal(MakeChangeSet(w.q02, "dev-d", 2, {Edit(q02_field, Answer("no"), T(7), "dev-d")}), w.q02)};
  Handed ha, hc, hd;
  {
    asio::io_context io(1);
    asio::co_spawn(io, HoldWriterUntil(**workers, 5), asio::detached);
    asio::co_spawn(io, HandOver(**workers, a, Record(w, w.q01a), 1, ha), asio::detached);
    asio::co_spawn(io, HandOver(**workers, c, Record(w, w.q01b), 2, hc), asio::detached);
    asio::co_spawn(io, HandOver(**workers, d, Record(w, w.q02), 3, hd), asio::detached);
    io.run();
  }
  REQUIRE(ha.done);
  REQUIRE(hc.done);
  REQUIRE(hd.done);
  // dev-a's two, dev-c's two and dev-d's first went in one commit; the damaged one never reached it.
  CHECK((*workers)->counts().changesets == 5);
  CHECK((*workers)->counts().commits == 1);

  REQUIRE(ha.received.size() == 2);
  for (const auto& r : ha.received) {
    REQUIRE(r.intake.outcome);
    CHECK_FALSE(r.intake.outcome->duplicate);
    CHECK_FALSE(r.receipt.empty());
  }
  CHECK(ha.received[1].intake.outcome->acked_through == 2);

  REQUIRE(hc.received.size() == 2);
  REQUIRE(hc.received[0].intake.refusal);
  CHECK(hc.received[0].intake.refusal->code == RefusalCode::kSequence);
  REQUIRE(hc.received[1].intake.refusal);
  CHECK(hc.received[1].intake.refusal->code == RefusalCode::kSequence);
  CHECK(hc.received[1].intake.refusal->reason == "not stored: an earlier change-set of this sync was refused");
  CHECK(hc.received[1].receipt.empty());

  REQUIRE(hd.received.size() == 3);
  CHECK(hd.received[0].intake.outcome);
  REQUIRE(hd.received[1].intake.refusal);
  CHECK(hd.received[1].intake.refusal->code == RefusalCode::kBadChangeSet);
  REQUIRE(hd.received[2].intake.refusal);
  CHECK(hd.received[2].intake.refusal->reason == "not stored: an earlier change-set of this sync was refused");

  workers->reset();
  w.Reopen();
  CHECK(StoredOfDevice(w, "dev-a") == 2);
  CHECK(StoredOfDevice(w, "dev-c") == 1);
  CHECK(StoredOfDevice(w, "dev-d") == 1);
  auto c00 = w.Field(kC00);
  REQUIRE(c00);
  CHECK(c00->value == Answer("no"));
  auto c11 = w.Field(kC11);
  REQUIRE(c11);
  CHECK(c11->value == Answer("yes"));
}

TEST_CASE("server store workers: a reader refuses to write and an exception in a job reaches the coroutine") {
  ServerWorld w;
  auto workers = StoreWorkers::Open(w.dir, 1);
  REQUIRE(workers.ok());
  Status wrote = Status::OK();
  std::string caught;
  {
    asio::io_context io(1);
    asio::co_spawn(io, TryToWrite(**workers, wrote), asio::detached);
    asio::co_spawn(io, ThrowInAJob(**workers, caught), asio::detached);
    io.run();
  }
  CHECK_FALSE(wrote.ok());
  CHECK(caught == "a bug in a job");
  CHECK(w.Count("countries") == 4);
}

TEST_CASE("server store workers: a server that cannot sign its audit log stores nothing, and the same change-sets are stored once it can") {
  ServerWorld w;
  const std::string key = ReadFile(w.store->paths().server_key(), kKeyFileBytes).value();
  const std::int64_t entries = w.Count("audit_entries");
  std::vector<std::string> sealed = {Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a),
                                     Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(kC00, Answer("no"), T(2), "dev-a")}), w.q01a)};
  {
    // The key is read on first use and kept, so a running server keeps failing until it is restarted.
    REQUIRE(WriteFileAtomic(w.store->paths().server_key(), "not a key\n", 0600).ok());
    auto workers = StoreWorkers::Open(w.dir, 1);
    REQUIRE(workers.ok());
    const Handed h = HandOverAlone(**workers, sealed, Record(w, w.q01a), 1);
    REQUIRE(h.done);
    REQUIRE(h.received.size() == 2);
    for (const auto& r : h.received) {
      REQUIRE(r.intake.refusal);
      CHECK(r.intake.refusal->code == RefusalCode::kInternal);
      CHECK_THAT(r.intake.refusal->reason, Catch::Contains("signing the audit tree head"));
      CHECK(r.receipt.empty());
    }
    CHECK_THAT(h.received[0].intake.refusal->reason, Catch::StartsWith("the server could not store change-set 1 of device dev-a"));
  }
  w.Reopen();
  CHECK(StoredOfDevice(w, "dev-a") == 0);
  CHECK(w.Count("audit_entries") == entries);

  REQUIRE(WriteFileAtomic(w.store->paths().server_key(), key, 0600).ok());
  auto workers = StoreWorkers::Open(w.dir, 1);
  REQUIRE(workers.ok());
  const Handed again = HandOverAlone(**workers, sealed, Record(w, w.q01a), 1);
  REQUIRE(again.received.size() == 2);
  for (const auto& r : again.received) {
    REQUIRE(r.intake.outcome);
    CHECK_FALSE(r.receipt.empty());
  }
  workers->reset();
  w.Reopen();
  CHECK(StoredOfDevice(w, "dev-a") == 2);
}

}  // namespace mnr::server
