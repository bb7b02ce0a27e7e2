// What the units over the server store (server/server_store.cc, register.cc, intake.cc,
// merged_state.cc, pull.cc) share and nothing else needs: the store's meta table, the checks of a
// name a person gives, and how a list of countries is written. Not for other code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/sqlite.h"
#include "mnr/status.h"

namespace mnr::server {

// Certificates start a little in the past so a device whose clock runs a few minutes behind the
// server's can use a credential issued a moment ago.
inline constexpr std::int64_t kClockSlack = 300;

// A value of the meta table (store_id, hlc, state_seq, ...); nullopt if it has none.
Result<std::optional<std::string>> GetMeta(Db& db, std::string_view key);
Status SetMeta(Db& db, std::string_view key, std::string_view value);
// A numeric meta value; 0 if it has none, Corruption if it is not a number.
Result<std::uint64_t> GetMetaNumber(Db& db, std::string_view key);

// True if `s` holds a control character (tab, newline, DEL, ...).
bool HasControl(std::string_view s);
// OK if `s`, a name or label a person gave (`what` names it in the error), is non-empty valid UTF-8
// of at most `max_bytes` without control characters.
Status CheckLabel(std::string_view s, std::string_view what, std::size_t max_bytes);

// "Q01,Q02": country codes as the credential register stores them and messages show them.
std::string JoinCountries(const std::vector<std::string>& codes);

}  // namespace mnr::server
