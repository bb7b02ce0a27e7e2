// StoreWorkers: where `mnr-server run` does its SQLite, disk and crypto work, so that the network
// thread only moves bytes and never waits on the disk (issue 11).
//
// - Readers: a pool of threads, each with its own ServerStore (a WAL reader, `query_only`), for what
//   only reads: credential checks, pulls, file reads, and opening and verifying change-sets, which is
//   most of the CPU of an intake and so runs on every core at once.
// - The writer: one thread with its own ServerStore, the only one in the process that writes.
//   Change-sets that are waiting when it turns to them are stored in one transaction (group commit:
//   one fsync for many), in the order they were handed over; each is answered only once that commit is
//   durable, so an acknowledged change-set survives a crash and nothing is stored twice. Other writes
//   (a device's last sync, file chunks, remote requests) run on the writer between groups.
//
// A coroutine hands work over with `co_await` and resumes on its own executor with the result. Work
// runs to its end even if the coroutine's connection drops meanwhile; the io_context is kept running
// until every hand-over has come back, and the destructor finishes queued work before it joins.
#pragma once

#include <asio.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <exception>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "mnr/status.h"
#include "server/intake.h"
#include "server/register.h"
#include "server/server_store.h"

namespace mnr::server {

class StoreWorkers {
 public:
  // Opens the writer's and `readers` readers' ServerStores on DIR (already opened and migrated once by
  // the caller). `readers` is at least 1.
  static Result<std::unique_ptr<StoreWorkers>> Open(const std::string& dir, std::size_t readers);
  ~StoreWorkers();
  StoreWorkers(const StoreWorkers&) = delete;
  StoreWorkers& operator=(const StoreWorkers&) = delete;

  // Runs `f(ServerStore&)` on a reader and resumes with its result (an exception `f` throws is
  // rethrown in the coroutine). `f` must not write. Pass a named callable: GCC 12 destroys a
  // temporary argument of a co_await expression twice.
  // (Read and Write are not coroutines themselves: a coroutine frame holding `f`, often a lambda of
  // an anonymous namespace, is an error under -Wsubobject-linkage in unity builds.)
  template <class F>
  asio::awaitable<std::invoke_result_t<F&, ServerStore&>> Read(F f) {
    return Unwrap(Hand<std::invoke_result_t<F&, ServerStore&>>(readers_, std::move(f)));
  }
  // Runs `f(ServerStore&)` on the writer, between intake groups, and resumes with its result.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&, ServerStore&>> Write(F f) {
    return Unwrap(Hand<std::invoke_result_t<F&, ServerStore&>>(writer_, std::move(f)));
  }

  // What became of one pushed change-set, with the signed receipt of a stored (or duplicate) one.
  struct Received {
    IntakeResult intake;
    std::string receipt;        // audit::EncodeReceipt; empty if refused or if signing failed
    std::string receipt_error;  // why signing failed (the change-set is stored all the same)
  };
  // Pushed change-sets of one session (one, or several pipelined): each checked on a reader, all at
  // once; then stored in their order by the writer in its next group commit, and answered once that
  // commit is durable. The first that fails its check ends the hand-over: it and the later ones are
  // not stored ("not stored: an earlier change-set of this sync was refused"). `session` ties the
  // change-sets of one sync across hand-overs in the writer's groups likewise.
  asio::awaitable<std::vector<Received>> ReceiveAll(std::vector<std::string> sealed, CredentialRecord connection,
                                                    std::uint64_t session, std::int64_t now);

  // How many checked change-sets wait for the writer's next group.
  std::size_t QueuedChangeSets();
  // How many change-sets the writer has stored in how many commits since it started (for the log).
  struct Counts {
    std::uint64_t changesets = 0;
    std::uint64_t commits = 0;
  };
  Counts counts();

 private:
  struct Job {
    virtual ~Job() = default;
    virtual void Run(ServerStore& store) = 0;
  };
  template <class R, class F, class H>
  struct JobOf final : Job {
    JobOf(F f, H h) : f(std::move(f)), h(std::move(h)), work(asio::make_work_guard(asio::get_associated_executor(this->h))) {}
    void Run(ServerStore& store) override {
      std::exception_ptr failure;
      std::optional<R> r;
      try {
        r.emplace(f(store));
      } catch (...) {
        failure = std::current_exception();
      }
      auto ex = work.get_executor();
      asio::post(ex, [h = std::move(h), failure, r = std::move(r)]() mutable { std::move(h)(failure, std::move(r)); });
      work.reset();
    }
    F f;
    H h;
    asio::executor_work_guard<asio::associated_executor_t<H>> work;
  };
  template <class F>
  struct FnJob final : Job {
    explicit FnJob(F f) : f(std::move(f)) {}
    void Run(ServerStore& store) override { f(store); }
    F f;
  };
  // Change-sets of one hand-over, stored by the writer in a group with others; Run() answers.
  struct IntakeJob : Job {
    std::vector<VerifiedChangeSet> batch;
    std::vector<Received> results;
  };
  template <class H>
  struct IntakeJobOf final : IntakeJob {
    explicit IntakeJobOf(H h) : h(std::move(h)), work(asio::make_work_guard(asio::get_associated_executor(this->h))) {}
    void Run(ServerStore&) override {
      auto ex = work.get_executor();
      asio::post(ex, [h = std::move(h), r = std::move(results)]() mutable { std::move(h)(std::move(r)); });
      work.reset();
    }
    H h;
    asio::executor_work_guard<asio::associated_executor_t<H>> work;
  };
  // A queue served by one or more threads, each with its own store.
  struct Lane {
    std::mutex mu;
    std::condition_variable wake;
    std::deque<std::unique_ptr<Job>> jobs;
    bool stopping = false;
    std::vector<std::unique_ptr<ServerStore>> stores;
    std::vector<std::thread> threads;
  };
  StoreWorkers() = default;
  void Push(Lane& lane, std::unique_ptr<Job> job);
  void Serve(Lane& lane, ServerStore& store);
  void ServeWriter(ServerStore& store);
  void Stop(Lane& lane);

  template <class R>
  static asio::awaitable<R> Unwrap(asio::awaitable<std::optional<R>> handed) {
    std::optional<R> r = co_await std::move(handed);
    co_return std::move(*r);
  }

  template <class R, class F>
  auto Hand(Lane& lane, F f) {
    auto init = [this, &lane](auto handler, F work) {
      using H = decltype(handler);
      Push(lane, std::make_unique<JobOf<R, F, H>>(std::move(work), std::move(handler)));
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, std::optional<R>)>(
        std::move(init), asio::use_awaitable, std::move(f));
  }

  // Hands checked change-sets to the writer and resumes once their group's commit is durable.
  auto Store(std::vector<VerifiedChangeSet> batch) {
    auto init = [this](auto handler, std::vector<VerifiedChangeSet> checked) {
      auto job = std::make_unique<IntakeJobOf<decltype(handler)>>(std::move(handler));
      job->batch = std::move(checked);
      {
        std::lock_guard lock(writer_.mu);
        intakes_.push_back(std::move(job));
      }
      writer_.wake.notify_one();
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::vector<Received>)>(
        std::move(init), asio::use_awaitable, std::move(batch));
  }
  // Checks every sealed change-set on the readers at once and resumes when all are checked.
  // (Not a coroutine, for the reason Read gives.)
  asio::awaitable<std::vector<CheckResult>> CheckAll(const std::vector<std::string>& sealed,
                                                     const CredentialRecord& connection, std::int64_t now);

  Lane readers_;
  Lane writer_;
  // The writer's queue of checked change-sets, taken whole into each group.
  std::deque<std::unique_ptr<IntakeJob>> intakes_;  // guarded by writer_.mu
  Counts counts_;                                       // guarded by writer_.mu
};

}  // namespace mnr::server
