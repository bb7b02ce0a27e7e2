#include "server/store_workers.h"

#include <atomic>

#include "mnr/limits.h"
#include "mnr/wall_clock.h"
#include "server/audit_log.h"
#include "server/intake.h"
#include "server/register.h"
#include "server/server_log.h"

namespace mnr::server {

namespace {

// At most this many change-sets go into one commit, so one group's answers are not held back long
// behind a very large one.
constexpr std::size_t kGroupChangeSets = 64;

}  // namespace

Result<std::unique_ptr<StoreWorkers>> StoreWorkers::Open(const std::string& dir, std::size_t readers) {
  std::unique_ptr<StoreWorkers> w(new StoreWorkers());
  auto writer = ServerStore::Open(dir);
  if (!writer.ok()) return writer.status();
  w->writer_.stores.push_back(std::move(*writer));
  for (std::size_t i = 0; i < std::max<std::size_t>(readers, 1); ++i) {
    auto reader = ServerStore::Open(dir);
    if (!reader.ok()) return reader.status();
    // A reader that wrote would race the writer for SQLite's lock; make that an error, not a wait.
    MNR_RETURN_IF_ERROR((*reader)->db().Exec("PRAGMA query_only=1"));
    w->readers_.stores.push_back(std::move(*reader));
  }
  ServerStore& ws = *w->writer_.stores.front();
  w->writer_.threads.emplace_back([p = w.get(), &ws] { p->ServeWriter(ws); });
  for (auto& store : w->readers_.stores) {
    ServerStore& rs = *store;
    w->readers_.threads.emplace_back([p = w.get(), &rs] { p->Serve(p->readers_, rs); });
  }
  return w;
}

StoreWorkers::~StoreWorkers() {
  // Each lane runs its queued work to the end before its threads stop: every hand-over is answered
  // (into the io_context, which its caller destroys after this).
  Stop(readers_);
  Stop(writer_);
}

void StoreWorkers::Stop(Lane& lane) {
  {
    std::lock_guard lock(lane.mu);
    lane.stopping = true;
  }
  lane.wake.notify_all();
  for (auto& t : lane.threads) {
    if (t.joinable()) t.join();
  }
}

void StoreWorkers::Push(Lane& lane, std::unique_ptr<Job> job) {
  {
    std::lock_guard lock(lane.mu);
    lane.jobs.push_back(std::move(job));
  }
  lane.wake.notify_one();
}

void StoreWorkers::Serve(Lane& lane, ServerStore& store) {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(lane.mu);
      lane.wake.wait(lock, [&] { return lane.stopping || !lane.jobs.empty(); });
      if (lane.jobs.empty()) return;
      job = std::move(lane.jobs.front());
      lane.jobs.pop_front();
    }
    job->Run(store);
  }
}

void StoreWorkers::ServeWriter(ServerStore& store) {
  for (;;) {
    std::vector<std::unique_ptr<IntakeJob>> group;
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(writer_.mu);
      writer_.wake.wait(lock, [&] { return writer_.stopping || !writer_.jobs.empty() || !intakes_.empty(); });
      if (writer_.jobs.empty() && intakes_.empty()) return;
      // Everything waiting goes into one commit; one other write runs after it, so neither kind waits
      // long behind the other.
      std::size_t changesets = 0;
      while (!intakes_.empty() && (group.empty() || changesets + intakes_.front()->batch.size() <= kGroupChangeSets)) {
        changesets += intakes_.front()->batch.size();
        group.push_back(std::move(intakes_.front()));
        intakes_.pop_front();
      }
      if (!writer_.jobs.empty()) {
        job = std::move(writer_.jobs.front());
        writer_.jobs.pop_front();
      }
    }
    if (!group.empty()) {
      std::vector<VerifiedChangeSet> all;
      for (auto& g : group) {
        for (auto& v : g->batch) all.push_back(std::move(v));
      }
      // Each change-set's `now` is when the writer stores it: the same for the whole group.
      std::vector<IntakeResult> results;
      try {
        results = ApplyChangeSets(store, all, UnixNow(), true);
      } catch (...) {
        // Nothing was committed (the transaction rolled back as the exception left it).
        results.assign(all.size(), IntakeResult{std::nullopt, Refusal{RefusalCode::kInternal, "the server failed storing a change-set"}});
      }
      std::size_t next = 0;
      for (auto& g : group) {
        for (std::size_t i = 0; i < g->batch.size(); ++i) {
          Received r{std::move(results[next++]), {}, {}};
          if (r.intake.outcome) {
            // After the commit, which signed the tree head the receipts name: no write unless an admin
            // command appended to the audit log in between.
            auto receipt = MakeReceipt(store.db(), store.HeadSigner(), r.intake.outcome->changeset_id);
            if (receipt.ok()) {
              r.receipt = std::move(*receipt);
            } else {
              r.receipt_error = receipt.status().message();
            }
          }
          g->results.push_back(std::move(r));
        }
      }
      {
        std::lock_guard lock(writer_.mu);
        counts_.changesets += all.size();
        counts_.commits += 1;
      }
      for (auto& g : group) g->Run(store);
    }
    if (job) job->Run(store);
  }
}

std::size_t StoreWorkers::QueuedChangeSets() {
  std::lock_guard lock(writer_.mu);
  std::size_t n = 0;
  for (const auto& job : intakes_) n += job->batch.size();
  return n;
}

StoreWorkers::Counts StoreWorkers::counts() {
  std::lock_guard lock(writer_.mu);
  return counts_;
}

asio::awaitable<std::vector<CheckResult>> StoreWorkers::CheckAll(const std::vector<std::string>& sealed,
                                                                 const CredentialRecord& connection, std::int64_t now) {
  // One job per change-set, so that a pipelined batch is opened and verified on every core; the last
  // to finish resumes the coroutine.
  auto init = [this, &sealed, &connection, now](auto handler) {
    using H = decltype(handler);
    struct Shared {
      Shared(H h, std::size_t n) : h(std::move(h)), work(asio::make_work_guard(asio::get_associated_executor(this->h))), checked(n), left(n) {}
      H h;
      asio::executor_work_guard<asio::associated_executor_t<H>> work;
      std::vector<CheckResult> checked;
      std::atomic<std::size_t> left;
    };
    auto shared = std::make_shared<Shared>(std::move(handler), sealed.size());
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      auto check = [shared, i, body = &sealed[i], cred = &connection, now](ServerStore& store) {
        try {
          shared->checked[i] = CheckChangeSet(store, *body, cred, now);
        } catch (const std::exception& e) {
          shared->checked[i].refusal = Refusal{RefusalCode::kInternal, std::string("the server failed opening a change-set: ") + e.what()};
        }
        if (shared->left.fetch_sub(1) != 1) return;
        auto ex = shared->work.get_executor();
        asio::post(ex, [shared]() mutable { std::move(shared->h)(std::move(shared->checked)); });
        shared->work.reset();
      };
      Push(readers_, std::make_unique<FnJob<decltype(check)>>(std::move(check)));
    }
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::vector<CheckResult>)>(std::move(init),
                                                                                             asio::use_awaitable);
}

asio::awaitable<std::vector<StoreWorkers::Received>> StoreWorkers::ReceiveAll(std::vector<std::string> sealed,
                                                                             CredentialRecord connection,
                                                                             std::uint64_t session, std::int64_t now) {
  std::vector<Received> out(sealed.size());
  if (sealed.empty()) co_return out;
  std::vector<CheckResult> checked = co_await CheckAll(sealed, connection, now);
  std::vector<VerifiedChangeSet> batch;
  std::size_t stored = 0;
  for (; stored < checked.size() && !checked[stored].refusal; ++stored) {
    checked[stored].verified->session = session;
    batch.push_back(std::move(*checked[stored].verified));
  }
  if (!batch.empty()) {
    std::vector<Received> results = co_await Store(std::move(batch));
    for (std::size_t i = 0; i < results.size(); ++i) out[i] = std::move(results[i]);
  }
  if (stored < checked.size()) {
    const Refusal first = *checked[stored].refusal;
    out[stored].intake.refusal = first;
    for (std::size_t i = stored + 1; i < out.size(); ++i) {
      out[i].intake.refusal = Refusal{first.code, "not stored: an earlier change-set of this sync was refused"};
    }
  }
  co_return out;
}

}  // namespace mnr::server
