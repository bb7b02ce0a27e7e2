// Receipts in the client store, and `mnr-client receipts`.
#include "client/receipts.h"

#include <ctime>
#include <iostream>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/i18n.h"
#include "mnr/wall_clock.h"

namespace mnr::client {

// Its errors stay in English: a failed sync keeps its error in the store as data (see po/README.md).
Status SaveReceipt(ClientStore& store, std::string_view server_certificate_pem, std::uint64_t outbox_seq, const Ack& ack) {
  if (ack.receipt.empty()) return Status::OK();
  auto r = audit::DecodeReceipt(ack.receipt);
  if (!r.ok()) return Status::Corruption("the server's receipt for change-set " + ack.changeset_id + " is unreadable: " + r.status().message());
  if (r->changeset_id != ack.changeset_id) {
    return Status::Corruption("the server acknowledged change-set " + ack.changeset_id + " with a receipt for " + r->changeset_id);
  }
  if (server_certificate_pem.empty()) return Status::Corruption("the server sent a receipt but no certificate to check it with");
  auto info = crypto::InspectCertificate(server_certificate_pem);
  if (!info.ok()) return info.status().With("the server certificate in Welcome");
  const std::int64_t now = UnixNow();
  Db& db = store.db();
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto cert = db.Prepare("INSERT OR IGNORE INTO server_certificates (fingerprint, certificate_pem, first_seen) VALUES (?, ?, ?)");
  if (!cert.ok()) return cert.status();
  cert->Bind(1, info->fingerprint).Bind(2, server_certificate_pem).Bind(3, now);
  MNR_RETURN_IF_ERROR(cert->Run());
  auto ins = db.Prepare(
      "INSERT OR IGNORE INTO receipts (changeset_id, outbox_seq, log_index, tree_size, signed_at, receipt, server_fingerprint, "
      "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, r->changeset_id).Bind(2, static_cast<std::int64_t>(outbox_seq)).Bind(3, static_cast<std::int64_t>(r->index));
  ins->Bind(4, static_cast<std::int64_t>(r->tree_size)).Bind(5, r->timestamp).Bind(6, ack.receipt).Bind(7, info->fingerprint).Bind(8, now);
  MNR_RETURN_IF_ERROR(ins->Run());
  return tx.Commit();
}

Result<std::vector<StoredReceipt>> LoadReceipts(ClientStore& store) {
  auto st = store.db().Prepare(
      "SELECT r.changeset_id, r.outbox_seq, r.log_index, r.tree_size, r.signed_at, r.receipt, c.certificate_pem, r.received_at "
      "FROM receipts r LEFT JOIN server_certificates c ON c.fingerprint = r.server_fingerprint ORDER BY r.outbox_seq, r.log_index");
  if (!st.ok()) return st.status();
  std::vector<StoredReceipt> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(StoredReceipt{st->Text(0), static_cast<std::uint64_t>(st->Int(1)), static_cast<std::uint64_t>(st->Int(2)),
                                static_cast<std::uint64_t>(st->Int(3)), st->Int(4), st->Text(5), st->Text(6), st->Int(7)});
  }
  return out;
}

Status CheckReceipt(const StoredReceipt& s, std::string_view ca_certificate_pem) {
  auto r = audit::DecodeReceipt(s.receipt);
  if (!r.ok()) return r.status();
  if (r->changeset_id != s.changeset_id || r->index != s.log_index || r->tree_size != s.tree_size) {
    return Status::Corruption(tr("the receipt does not say what the store lists for it"));
  }
  if (s.server_certificate_pem.empty()) return Status::Corruption(tr("the certificate that signed it is missing from the store"));
  return audit::VerifyReceipt(*r, s.server_certificate_pem, ca_certificate_pem);
}

int ReceiptsCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client receipts --db PATH [--verify]",
                tr("Lists the server's signed receipts for this device's change-sets: the change-set, the audit log\n"
                   "entry that holds it and the signed tree head of the log at that time. With --verify, checks each\n"
                   "receipt's signatures with the server certificate and that certificate against the CA of this\n"
                   "store's credential; exits 1 if any receipt does not verify."));
  p.Option("db", "PATH", "client store", true).Flag("verify", "check every receipt's signatures");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto store = OpenStore(a);
  if (!store.ok()) return Fail(store.status());
  auto receipts = LoadReceipts(**store);
  if (!receipts.ok()) return Fail(receipts.status());
  const bool verify = a.Has("verify");
  const auto& cred = (*store)->identity().credential;
  if (verify && !cred) return Fail(Status::InvalidArgument(tr("this store is not bound to a credential, so it has no CA to check receipts with")));
  if (receipts->empty()) {
    std::cout << tr("no receipts yet (the server sends one for each change-set it acknowledges on sync)") << "\n";
    return cli::kExitOk;
  }
  std::size_t bad = 0;
  // TRANSLATORS: column titles; keep each title's start column (0, 5, 23, 34, 45, and 67 for the check).
  std::cout << (verify ? tr("SEQ  CHANGE-SET        LOG ENTRY  TREE SIZE  SIGNED AT             CHECK")
                       : tr("SEQ  CHANGE-SET        LOG ENTRY  TREE SIZE  SIGNED AT"))
            << "\n";
  for (const auto& r : *receipts) {
    std::string line = std::to_string(r.outbox_seq);
    line.resize(5, ' ');
    line += r.changeset_id.substr(0, 16) + "  ";
    std::string idx = std::to_string(r.log_index);
    idx.resize(11, ' ');
    std::string size = std::to_string(r.tree_size);
    size.resize(11, ' ');
    line += idx + size + audit::FormatTime(r.signed_at);
    if (verify) {
      Status s = CheckReceipt(r, cred->ca_certificate_pem);
      line += "  " + (s.ok() ? tr("ok") : tr("FAILED: {1}", s.message()));
      if (!s.ok()) ++bad;
    }
    std::cout << line << "\n";
  }
  // What an auditor pins an export of the log to: the newest tree head this office was shown.
  if (auto newest = audit::DecodeReceipt(receipts->back().receipt); newest.ok()) {
    const std::string head = std::to_string(newest->tree_size) + ":" + newest->root;
    std::cout << tr("newest tree head: {1} (check an audit export with `mnr-audit verify FILE --tree-head {1}`)", head) << "\n";
  }
  if (verify) {
    if (bad) {
      std::cerr << kProgram << ": " << tr("{1} of {2} receipts do not verify", bad, receipts->size()) << "\n";
      return cli::kExitFailure;
    }
    std::cout << tr("all {1} receipts verify", receipts->size()) << "\n";
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
