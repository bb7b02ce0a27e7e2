#include "server/store_internal.h"

#include <algorithm>
#include <exception>

#include "mnr/utf8.h"

namespace mnr::server {

Result<std::optional<std::string>> GetMeta(Db& db, std::string_view key) {
  auto st = db.Cached("SELECT value FROM meta WHERE key = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, key);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(st->Text(0));
}

Status SetMeta(Db& db, std::string_view key, std::string_view value) {
  auto st = db.Cached("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!st.ok()) return st.status();
  st->Bind(1, key).Bind(2, value);
  return st->Run();
}

Result<std::uint64_t> GetMetaNumber(Db& db, std::string_view key) {
  auto v = GetMeta(db, key);
  if (!v.ok()) return v.status();
  if (!*v) return std::uint64_t{0};
  try {
    return static_cast<std::uint64_t>(std::stoull(**v));
  } catch (const std::exception&) {
    return Status::Corruption("meta value '" + std::string(key) + "' is not a number: " + **v);
  }
}

std::string JoinCountries(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& c : codes) {
    if (!out.empty()) out += ',';
    out += c;
  }
  return out;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Status CheckLabel(std::string_view s, std::string_view what, std::size_t max_bytes) {
  if (s.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  MNR_RETURN_IF_ERROR(CheckText(s, what, max_bytes));
  if (HasControl(s)) return Status::InvalidArgument(std::string(what) + " contains a control character (tab, newline, ...)");
  return Status::OK();
}

}  // namespace mnr::server
