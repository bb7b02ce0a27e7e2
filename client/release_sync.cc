#include "client/release_sync.h"

#include <ctime>

#include "client/server_link.h"
#include "mnr/crypto.h"
#include "mnr/messages.h"
#include "mnr/wall_clock.h"

namespace mnr::client {
// The messages here stay in English (not passed through tr()): they are errors of a sync, which the
// store keeps as its last sync result, and that record is data (po/README.md).
namespace {

constexpr const char* kReleaseColumns = "seq, label, release_id, content_sha256, csv, manifest, signature, server_certificate, received_at";

StoredRelease ReadRow(const Statement& st) {
  StoredRelease r;
  r.seq = st.Int(0);
  r.label = st.Text(1);
  r.release_id = st.Text(2);
  r.content_sha256 = st.Text(3);
  r.csv = st.Text(4);
  r.manifest = st.Text(5);
  r.signature = st.Blob(6);
  r.server_certificate = st.Text(7);
  r.received_at = st.Int(8);
  return r;
}

Result<std::string> RequiredText(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return Status::Corruption(std::string("the server's release has no \"") + key + "\"");
  return j[key].get<std::string>();
}

Status Check(const StoredRelease& r, std::string_view ca, std::int64_t at) {
  const std::string what = "release \"" + r.label + "\" from the server";
  Status chain = crypto::VerifyCertificate(r.server_certificate, ca, at);
  if (!chain.ok()) return Status::Corruption(what + ": its server certificate is not from this credential's CA (" + chain.message() + ")");
  Status sig = crypto::VerifyWithCertificate(r.server_certificate, r.manifest, r.signature);
  if (!sig.ok()) return Status::Corruption(what + ": the manifest's signature does not verify (" + sig.message() + ")");
  const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
  if (m.is_discarded() || !m.is_object()) return Status::Corruption(what + ": the manifest is not JSON");
  if (m.value("label", std::string()) != r.label) return Status::Corruption(what + ": the manifest names another label");
  if (m.value("content_sha256", std::string()) != r.content_sha256 || crypto::Sha256Hex(r.csv) != r.content_sha256) {
    return Status::Corruption(what + ": the dataset does not hash to the manifest's content hash");
  }
  if (crypto::Sha256Hex(r.manifest) != r.release_id) return Status::Corruption(what + ": the release id is not the manifest's hash");
  return Status::OK();
}

}  // namespace

Result<std::optional<ReceivedRelease>> CheckReleaseResult(ClientStore& store, const nlohmann::json& result, std::int64_t now) {
  if (!result.is_object()) return Status::Corruption("the server's answer to release.latest is not a JSON object");
  if (result.value("unchanged", false)) return std::optional<ReceivedRelease>();
  if (!result.contains("release") || result["release"].is_null()) return std::optional<ReceivedRelease>();
  const auto& j = result["release"];
  ReceivedRelease received;
  StoredRelease& r = received.release;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"label", &r.label},
                          {"release_id", &r.release_id},
                          {"content_sha256", &r.content_sha256},
                          {"csv", &r.csv},
                          {"manifest", &r.manifest},
                          {"server_certificate", &r.server_certificate}}) {
    auto v = RequiredText(j, key);
    if (!v.ok()) return v.status();
    *out = *v;
  }
  auto sig_b64 = RequiredText(j, "signature");
  if (!sig_b64.ok()) return sig_b64.status();
  auto sig = crypto::Base64Decode(*sig_b64);
  if (!sig.ok()) return Status::Corruption("the server's release signature is not base64");
  r.signature = *sig;
  const auto& cred = store.identity().credential;
  if (!cred) return Status::InvalidArgument("this store is not bound to a credential");
  MNR_RETURN_IF_ERROR(Check(r, cred->ca_certificate_pem, now));
  if (result.contains("scope") && result["scope"].is_array()) received.scope = result["scope"];
  return std::optional<ReceivedRelease>(std::move(received));
}

Result<std::string> KeepRelease(ClientStore& store, const ReceivedRelease& received, std::int64_t now) {
  const StoredRelease& r = received.release;
  Db& db = store.db();
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto ins = db.Prepare(
      "INSERT INTO releases (label, release_id, content_sha256, csv, manifest, signature, server_certificate, received_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, r.label).Bind(2, r.release_id).Bind(3, r.content_sha256).Bind(4, r.csv).Bind(5, r.manifest);
  ins->BindBlob(6, r.signature).Bind(7, r.server_certificate).Bind(8, now);
  MNR_RETURN_IF_ERROR(ins->Run());
  if (received.scope) {
    MNR_RETURN_IF_ERROR(db.Exec("DELETE FROM release_scope"));
    auto sc = db.Prepare("INSERT INTO release_scope (code, name, income_group, region) VALUES (?, ?, ?, ?)");
    if (!sc.ok()) return sc.status();
    for (const auto& c : *received.scope) {
      if (!c.is_object()) continue;
      sc->Reset();
      sc->Bind(1, c.value("code", "")).Bind(2, c.value("name", "")).Bind(3, c.value("income_group", "")).Bind(4, c.value("region", ""));
      MNR_RETURN_IF_ERROR(sc->Run());
    }
  }
  MNR_RETURN_IF_ERROR(tx.Commit());
  return r.label;
}

Result<std::string> StoreReleaseResult(ClientStore& store, const nlohmann::json& result, std::int64_t now) {
  auto received = CheckReleaseResult(store, result, now);
  if (!received.ok()) return received.status();
  if (!*received) return std::string();
  return KeepRelease(store, **received, now);
}

Status QueueLatestReleaseRequest(Connection& conn, ClientStore& store) {
  auto held = FindStoredRelease(store, std::nullopt);
  if (!held.ok()) return held.status();
  nlohmann::json args = nlohmann::json::object();
  if (*held) args["have"] = (*held)->release_id;
  const Request request{"release.latest", args.dump()};
  conn.Queue(request);
  return Status::OK();
}

asio::awaitable<Result<std::string>> ReadLatestRelease(Connection& conn, ClientStore& store) {
  Status sent = co_await conn.Flush();
  if (!sent.ok()) co_return sent;
  auto reply = co_await conn.ReadFrame();
  if (!reply.ok()) co_return reply.status();
  if (reply->type == MessageType::kRefused) {
    auto refused = DecodeMessage<Refused>(reply->payload);
    // A server from before releases existed does not know the operation: nothing to receive.
    if (refused.ok() && refused->code == static_cast<std::uint16_t>(RefusalCode::kBadRequest)) co_return std::string();
    co_return RefusedStatus(reply->payload);
  }
  if (reply->type != MessageType::kResponse) {
    co_return Status::Corruption("server answered release.latest with " + std::string(MessageTypeName(reply->type)));
  }
  auto response = DecodeMessage<Response>(reply->payload);
  if (!response.ok()) co_return response.status();
  const auto result = nlohmann::json::parse(response->body, nullptr, false);
  if (result.is_discarded()) co_return Status::Corruption("the server's answer to release.latest is not JSON");
  co_return StoreReleaseResult(store, result, UnixNow());
}

Result<std::optional<StoredRelease>> FindStoredRelease(ClientStore& store, const std::optional<std::string>& label) {
  auto st = store.db().Prepare(std::string("SELECT ") + kReleaseColumns + " FROM releases " +
                               (label ? "WHERE label = ?" : "ORDER BY seq DESC LIMIT 1"));
  if (!st.ok()) return st.status();
  if (label) st->Bind(1, *label);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<StoredRelease>();
  return std::optional<StoredRelease>(ReadRow(*st));
}

Status VerifyStoredRelease(const StoredRelease& r, std::string_view ca_certificate_pem) {
  return Check(r, ca_certificate_pem, r.received_at);
}

}  // namespace mnr::client
