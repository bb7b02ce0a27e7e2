// Field values and their changes described for people reading a terminal: `mnr-client log`,
// `import --dry-run`, `conflicts show` and `audit log` text on both sides. Free text (notes, titles,
// reasons) is shortened and its control characters are shown escaped, so a note can neither flood a
// line nor drive the terminal. Also the "did you mean" of a filter naming something unknown, and the
// label of a device. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mnr {

// How many characters of free text a one-line description shows before "…".
inline constexpr std::size_t kShownTextChars = 40;

// `s` made safe for a terminal: \n, \r, \t and a backslash escaped with a backslash; other control
// characters (C0, DEL, C1), line and paragraph separators, bidirectional controls and the byte-order
// mark as \xNN or \uNNNN; bytes that are not UTF-8 as \xNN. At most `max_chars` characters of `s`
// (0: all), then "…". Where this file quotes text (notes, titles) a double quote is escaped too.
std::string TerminalText(std::string_view s, std::size_t max_chars = kShownTextChars);

// One value of the field `field` (a key, field.h): "(none)" when absent; an answer as its word, then
// `; note "…"` when it has a note; a good-practice title or text quoted; other attributes as they are.
std::string DescribeValue(std::string_view field, const std::optional<std::string>& value,
                          std::size_t max_chars = kShownTextChars);

// A change of `field` from `old_value` to `new_value`, on one line. For an answer whose both values
// are present: the answer ("yes -> partial", or "yes" when it stayed), then `; note "old" -> (none)`
// when the note changed. A value that appears or disappears: "(none) -> partial; note "…"". Values
// that are equal: the value and " (unchanged)". Anything else: "old -> new".
std::string DescribeChange(std::string_view field, const std::optional<std::string>& old_value,
                           const std::optional<std::string>& new_value, std::size_t max_chars = kShownTextChars);

// Levenshtein distance between the byte strings.
std::size_t EditDistance(std::string_view a, std::string_view b);
// Up to `max` of `known`, closest to `wanted` first (ties keep the order of `known`); `known` may
// hold duplicates, which are returned once.
std::vector<std::string> NearestNames(std::string_view wanted, const std::vector<std::string>& known, std::size_t max = 3);

// How a device is shown: its own name when it has one, else "<credential name>/<first 8 characters of
// its id>" (or the id alone when the credential's name is unknown too).
std::string DeviceLabel(std::string_view device_name, std::string_view credential_name, std::string_view device_id);

// One line of `audit log` text for a record of the JSON history (server/audit_log.h): who by name
// ("name", "device_name", "carried_by_name"; ids when a name is missing), the field's change via
// DescribeChange of "old_value"/"new_value", the change-set and the reason. With `ids`, the credential
// and device ids are shown too.
std::string DescribeHistoryRecord(const nlohmann::json& record, bool ids);

}  // namespace mnr
