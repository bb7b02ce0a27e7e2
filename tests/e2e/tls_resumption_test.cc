// TLS 1.3 session resumption between the real client and the real server: a sync resumes the session
// its previous sync kept in the store, the server still knows the credential on a resumed connection
// and still checks it against the register, and a new credential starts afresh.
#include <catch2/catch.hpp>

#include "mnr/credential.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

RunResult VerboseSync(const SyncHarness& h, const std::string& db) {
  return h.Client({"sync", "--db", db, "--server", h.address(), "--retries", "0", "--verbose"});
}

std::size_t CountOf(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

std::string KeptSessions(const std::string& db) { return Scalar(db, "SELECT COUNT(*) FROM meta WHERE key = 'tls_session'"); }

}  // namespace

TEST_CASE("A sync resumes the TLS session of the previous one, and a revoked credential is refused on a resumed connection too") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  auto old = LoadCredential(h.CredentialPath("office"));
  REQUIRE(old.ok());

  auto first = Ok(VerboseSync(h, db));
  CHECK(Contains(first.err, "TLS full handshake"));
  CHECK(KeptSessions(db) == "1");

  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c01_national_strategy", "yes"}).exit_code == 0);
  auto second = Ok(VerboseSync(h, db));
  CHECK(Contains(second.err, "TLS session resumed"));
  CHECK(Contains(second.out, "pushed 1 change-set"));
  // The server took the change-set from the credential it found on the resumed connection: the
  // certificate travels in the session, so its name and fingerprint are those of the full handshake.
  // The server writes a session's line after its last reply, so wait for the second one.
  const std::string log = h.LogOnce(" tls=resumed ");
  CHECK(CountOf(log, "credential=" + old->id) == 2);
  // The server's log says which connections resumed.
  CHECK(CountOf(log, " tls=full ") == 1);
  CHECK(CountOf(log, " tls=resumed ") == 1);

  // Renewal revokes the old credential at once; the store still holds a session made with it.
  auto renew = h.Server({"renew", "--data", h.data(), old->id, "--out", h.dir() / "office-2.mnrcred", "--days", "30"});
  INFO(renew.err);
  REQUIRE(renew.exit_code == 0);
  auto refused = VerboseSync(h, db);
  CHECK(Contains(refused.err, "TLS session resumed"));
  CHECK(refused.exit_code == 4);
  CHECK(Contains(refused.err, "revoked"));

  // A new credential drops the session made with the old one: the next sync is a full handshake.
  Ok(h.Client({"init", "--db", db, "--credentials", h.dir() / "office-2.mnrcred"}));
  CHECK(KeptSessions(db) == "0");
  auto fresh = Ok(VerboseSync(h, db));
  CHECK(Contains(fresh.err, "TLS full handshake"));
  auto again = Ok(VerboseSync(h, db));
  CHECK(Contains(again.err, "TLS session resumed"));

  // A server restart forgets its ticket keys: the kept session fails to resume, the sync falls back to
  // a full handshake and keeps the new session.
  h.StopServer();
  h.StartServer();
  auto restarted = Ok(VerboseSync(h, db));
  CHECK(Contains(restarted.err, "TLS full handshake"));
  CHECK(KeptSessions(db) == "1");
  CHECK(Contains(Ok(VerboseSync(h, db)).err, "TLS session resumed"));
}
