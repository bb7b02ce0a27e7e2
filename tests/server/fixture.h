// Shared setup of the server tests: a real server store in a scratch directory, a small country
// register, credentials issued by the store, and change-sets built, signed and sealed the way a device
// does it.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mnr/changeset.h"
#include "mnr/credential.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/file_util.h"
#include "mnr/wall_clock.h"
#include "server/audit_trail.h"
#include "server/intake.h"
#include "server/merged_state.h"
#include "server/pull.h"
#include "server/register.h"
#include "server/server_store.h"
#include "tests/support/process.h"

namespace mnr::server::testing {

// A fixed base time so versions are readable and tests never depend on the clock.
inline constexpr std::uint64_t kBaseMillis = 1'760'000'000'000ULL;
inline HlcTime T(std::uint64_t step) { return HybridClock::Make(kBaseMillis + step * 1000, 0); }

inline std::string Answer(std::string_view a, std::string_view note = "") {
  return EncodeAnswer(AnswerValue{*ParseAnswer(a), std::string(note)});
}

inline Operation Edit(const std::string& field, std::optional<std::string> value, HlcTime hlc,
                      const std::string& author, std::vector<std::string> parents = {}) {
  Operation op;
  op.field = field;
  op.new_value = std::move(value);
  op.hlc = hlc;
  op.author = author;
  op.parents = std::move(parents);
  return op;
}

inline ChangeSet MakeChangeSet(const Credential& c, const std::string& device, std::uint64_t seq,
                               std::vector<Operation> ops) {
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = device;
  cs.credential_id = c.id;
  cs.seq = seq;
  cs.created = ops.empty() ? T(0) : ops.back().hlc;
  cs.ops = std::move(ops);
  return cs;
}

// Signs with `signer`'s key (normally the credential the change-set names) and seals to the server.
inline std::string Seal(const ChangeSet& cs, const Credential& signer) {
  auto sealed = SealChangeSet(SerializeChangeSet(cs), signer.private_key_pem, signer.sealing_public_key);
  REQUIRE(sealed.ok());
  return *sealed;
}

inline std::int64_t NowSeconds() { return UnixNow(); }

struct ServerWorld {
  mnr::test::TempDir tmp;
  std::string dir = tmp / "data";
  std::unique_ptr<ServerStore> store;
  Credential q01a, q01b, q02, coordinator;

  ServerWorld() {
    REQUIRE(ServerStore::Init(dir, {}, "localhost:7443").ok());
    Reopen();
    REQUIRE(ImportCountries(store->db(), {{"Q01", "Placeholder Q01", "high", "europe"},
                                          {"Q02", "Placeholder Q02", "low", "africa"},
                                          {"Q03", "Placeholder Q03", "upper_middle", "americas"},
                                          {"Q04", "Placeholder Q04", "lower_middle", "asia"}})
                .ok());
    q01a = Issue(Role::kField, {"Q01"}, "Q01 laptop a");
    q01b = Issue(Role::kField, {"Q01"}, "Q01 laptop b");
    q02 = Issue(Role::kField, {"Q02", "Q03"}, "Q02/Q03 office");
    coordinator = Issue(Role::kCoordinator, {}, "coordinator");
  }

  void Reopen() {
    store.reset();
    auto s = ServerStore::Open(dir);
    REQUIRE(s.ok());
    store = std::move(*s);
  }

  Credential Issue(Role role, const std::vector<std::string>& countries, const std::string& name) {
    auto c = IssueCredential(store->db(), store->paths(), role, countries, name, 30LL * 24 * 3600);
    REQUIRE(c.ok());
    return *c;
  }

  IntakeResult Receive(const std::string& sealed, const CredentialRecord* connection = nullptr) {
    return ReceiveChangeSet(*store, sealed, connection, NowSeconds());
  }

  std::int64_t Count(const std::string& table) {
    auto st = store->db().Prepare("SELECT COUNT(*) FROM " + table);
    REQUIRE(st.ok());
    auto row = st->Step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    return st->Int(0);
  }

  std::optional<PulledField> Field(const std::string& field) {
    auto batch = PullSince(store->db(), {}, 0, 100000);
    REQUIRE(batch.ok());
    for (const auto& f : batch->fields) {
      if (f.field == field) return f;
    }
    return std::nullopt;
  }

  std::string Hash() {
    auto h = StateHash(store->db());
    REQUIRE(h.ok());
    return *h;
  }
};

inline const std::string kC00 = AnswerField("Q01", "c00_mnr_reference");
inline const std::string kC11 = AnswerField("Q01", "c11_child_helpline");

inline std::string ServerCert(ServerWorld& w) {
  auto cert = ReadFile(w.store->paths().server_cert(), kKeyFileBytes);
  REQUIRE(cert.ok());
  return *cert;
}

inline CredentialRecord Record(ServerWorld& w, const Credential& c) {
  auto r = FindCredential(w.store->db(), c.id);
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  return **r;
}

// Runs `sql` on the open store, as someone editing the file behind the server's back would.
inline void Sql(ServerWorld& w, const std::string& sql) {
  Status s = w.store->db().Exec(sql);
  INFO(sql << ": " << s.message());
  REQUIRE(s.ok());
}

// The message of the corruption the audit verification reports after the store is reopened.
inline std::string VerifyFailure(ServerWorld& w) {
  w.Reopen();
  auto r = VerifyAuditTrail(*w.store);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kCorruption);
  return r.status().message();
}

}  // namespace mnr::server::testing
