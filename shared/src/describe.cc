#include "mnr/describe.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "mnr/audit_format.h"
#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/review.h"
#include "mnr/utf8.h"

namespace mnr {
namespace {

// Length of the UTF-8 sequence `s` starts with, or 0 if it does not start with a valid one.
std::size_t SequenceLength(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || len > s.size() || !IsValidUtf8(s.substr(0, len))) return 0;
  return len;
}

std::uint32_t CodePoint(std::string_view seq) {
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(seq[i])); };
  switch (seq.size()) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// Characters a terminal acts on or that reorder or hide text: shown as \uNNNN.
bool Invisible(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

std::string Hex(const char* format, unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

bool IsAnswerField(std::string_view field) {
  auto fk = ParseField(field);
  return fk.ok() && fk->kind == FieldKey::Kind::kAnswer;
}

bool IsFreeTextField(std::string_view field) {
  auto fk = ParseField(field);
  return fk.ok() && fk->kind == FieldKey::Kind::kPractice && (fk->attr == "title" || fk->attr == "text");
}

std::string Escaped(std::string_view s, std::size_t max_chars, bool quoted) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (max_chars != 0 && chars == max_chars) {
      out += "\u2026";
      break;
    }
    ++chars;
    const std::size_t len = SequenceLength(s.substr(i));
    if (len == 0) {
      out += Hex("\\x%02x", static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    const std::uint32_t cp = CodePoint(s.substr(i, len));
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\\' || (quoted && cp == '"')) {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp < 0x20 || cp == 0x7F) {
      out += Hex("\\x%02x", cp);
    } else if (Invisible(cp)) {
      out += Hex("\\u%04x", cp);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string Quoted(std::string_view s, std::size_t max_chars) { return "\"" + Escaped(s, max_chars, true) + "\""; }

std::string NoteText(const std::string& note, std::size_t max_chars) {
  return note.empty() ? std::string("(none)") : Quoted(note, max_chars);
}

std::string Str(const nlohmann::json& r, const char* key) {
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string();
}

std::optional<std::string> OptStr(const nlohmann::json& r, const char* key) {
  if (r.contains(key) && r[key].is_string()) return r[key].get<std::string>();
  return std::nullopt;
}

// "name" when known, else the id; with ids, "id (name)".
std::string Who(const std::string& id, const std::string& name, bool ids) {
  if (name.empty()) return TerminalText(id, 0);
  if (!ids || id.empty() || id == name) return TerminalText(name, 0);
  return TerminalText(id, 0) + " (" + TerminalText(name, 0) + ")";
}

}  // namespace

std::string TerminalText(std::string_view s, std::size_t max_chars) { return Escaped(s, max_chars, false); }

std::string DescribeValue(std::string_view field, const std::optional<std::string>& value, std::size_t max_chars) {
  if (!value) return "(none)";
  if (IsAnswerField(field)) {
    auto a = DecodeAnswer(*value);
    if (!a.ok()) return "(unreadable: " + Quoted(*value, max_chars) + ")";
    std::string out(AnswerName(a->answer));
    if (!a->note.empty()) out += "; note " + Quoted(a->note, max_chars);
    return out;
  }
  if (IsFreeTextField(field)) return Quoted(*value, max_chars);
  // Review loop fields (mnr/review.h): the decision's word or the query's indicator, then the text.
  if (auto key = ParseField(field); key.ok() && key->kind == FieldKey::Kind::kReview && key->attr == "decision") {
    auto d = DecodeDecision(*value);
    if (d.ok()) return std::string(d->approved ? "approved" : "returned") + (d->comment.empty() ? "" : ": " + Quoted(d->comment, max_chars));
  } else if (key.ok() && key->kind == FieldKey::Kind::kQuery) {
    if (key->attr == "reply") return Quoted(*value, max_chars);
    auto q = DecodeQuestion(*value);
    if (q.ok()) return (q->indicator.empty() ? std::string() : "on " + q->indicator + ": ") + Quoted(q->text, max_chars);
  }
  return TerminalText(*value, max_chars);
}

std::string DescribeChange(std::string_view field, const std::optional<std::string>& old_value,
                           const std::optional<std::string>& new_value, std::size_t max_chars) {
  if (old_value == new_value) return DescribeValue(field, new_value, max_chars) + (new_value ? " (unchanged)" : "");
  if (!old_value || !new_value || !IsAnswerField(field)) {
    return DescribeValue(field, old_value, max_chars) + " -> " + DescribeValue(field, new_value, max_chars);
  }
  auto before = DecodeAnswer(*old_value);
  auto after = DecodeAnswer(*new_value);
  if (!before.ok() || !after.ok()) {
    return DescribeValue(field, old_value, max_chars) + " -> " + DescribeValue(field, new_value, max_chars);
  }
  std::string out(AnswerName(before->answer));
  if (before->answer != after->answer) out += " -> " + std::string(AnswerName(after->answer));
  if (before->note != after->note) {
    out += "; note " + NoteText(before->note, max_chars) + " -> " + NoteText(after->note, max_chars);
  }
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> NearestNames(std::string_view wanted, const std::vector<std::string>& known, std::size_t max) {
  std::vector<std::pair<std::size_t, std::size_t>> ranked;  // (distance, index in known)
  for (std::size_t i = 0; i < known.size(); ++i) {
    if (std::find(known.begin(), known.begin() + static_cast<std::ptrdiff_t>(i), known[i]) != known.begin() + static_cast<std::ptrdiff_t>(i)) continue;
    ranked.emplace_back(EditDistance(wanted, known[i]), i);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ranked.size() && out.size() < max; ++i) out.push_back(known[ranked[i].second]);
  return out;
}

std::string DeviceLabel(std::string_view device_name, std::string_view credential_name, std::string_view device_id) {
  if (!device_name.empty()) return std::string(device_name);
  if (credential_name.empty()) return std::string(device_id);
  return std::string(credential_name) + "/" + std::string(device_id.substr(0, 8));
}

std::string DescribeHistoryRecord(const nlohmann::json& r, bool ids) {
  std::string who = Who(Str(r, "credential"), Str(r, "name"), ids);
  if (!Str(r, "carried_by").empty()) who += " carried by " + Who(Str(r, "carried_by"), Str(r, "carried_by_name"), ids);
  std::string line = "#" + std::to_string(r.value("index", std::uint64_t{0})) + "  " +
                     audit::FormatTime(r.value("recorded_at", std::int64_t{0})) + "  " +
                     (Str(r, "action").empty() ? Str(r, "kind") : Str(r, "action")) + "  " + who;
  if (r.contains("field")) {
    const std::string field = Str(r, "field");
    if (!Str(r, "device").empty()) line += "  device " + Who(Str(r, "device"), Str(r, "device_name"), ids);
    if (r.contains("hlc") && r["hlc"].is_number_unsigned()) line += "  at " + HybridClock::Format(r["hlc"].get<HlcTime>());
    line += "  " + TerminalText(field, 0) + ": ";
    if (r.contains("old_value") || r.contains("new_value")) {
      line += DescribeChange(field, OptStr(r, "old_value"), OptStr(r, "new_value"));
    } else {
      line += TerminalText(Str(r, "old"), 0) + " -> " + TerminalText(Str(r, "new"), 0);
    }
    const std::string cs = Str(r, "changeset_id");
    if (!cs.empty()) line += "  change-set " + (ids ? cs : cs.substr(0, 16) + (cs.size() > 16 ? "..." : ""));
    if (!Str(r, "reason").empty()) line += "  reason: " + TerminalText(Str(r, "reason"), 0);
  } else if (!Str(r, "summary").empty()) {
    line += "  " + TerminalText(Str(r, "summary"), 0);
  }
  return line;
}

}  // namespace mnr
