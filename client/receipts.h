// Receipts: the server's signed acknowledgements of this device's change-sets (mnr/audit_format.h),
// kept in the client store (receipts, server_certificates; client-store-v3.sql) so that a field
// office can later prove that the server logged its submission. A receipt is checked with the server
// certificate the server presented in Welcome, and that certificate against the credential's CA.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_store.h"
#include "mnr/messages.h"
#include "mnr/status.h"

namespace mnr::client {

// Keeps the receipt an Ack carries (nothing when it carries none) with the certificate that signed
// it; the first receipt of a change-set stays. Corruption if the receipt is unreadable or names
// another change-set than the Ack.
Status SaveReceipt(ClientStore& store, std::string_view server_certificate_pem, std::uint64_t outbox_seq, const Ack& ack);

struct StoredReceipt {
  std::string changeset_id;
  std::uint64_t outbox_seq = 0;
  std::uint64_t log_index = 0;
  std::uint64_t tree_size = 0;
  std::int64_t signed_at = 0;
  std::string receipt;  // as received (JSON)
  std::string server_certificate_pem;
  std::int64_t received_at = 0;
};
// Oldest first.
Result<std::vector<StoredReceipt>> LoadReceipts(ClientStore& store);

// OK if the receipt decodes, names its change-set, and both its signatures verify with a server
// certificate issued by `ca_certificate_pem`.
Status CheckReceipt(const StoredReceipt& r, std::string_view ca_certificate_pem);

}  // namespace mnr::client
