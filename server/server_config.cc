#include "server/server_config.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include <toml++/toml.h>

#include "mnr/address.h"
#include "mnr/file_util.h"

namespace mnr::server {
namespace {

// One value as the file or a flag gave it, before its key's rule applies.
struct ConfigValue {
  enum class Kind { kInteger, kNumber, kText, kOther };
  Kind kind = Kind::kOther;
  std::int64_t integer = 0;
  double number = 0;
  std::string text;
  std::string type;  // as a person would say it, for "must be ..., not TYPE"
};

std::string ConfigNumberText(double v) {
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

Result<std::chrono::milliseconds> ConfigSeconds(const ConfigValue& v, double min, double max, bool zero_ok) {
  double seconds = 0;
  if (v.kind == ConfigValue::Kind::kInteger) {
    seconds = static_cast<double>(v.integer);
  } else if (v.kind == ConfigValue::Kind::kNumber && std::isfinite(v.number)) {
    seconds = v.number;
  } else {
    return Status::InvalidArgument("must be a number of seconds, not " + v.type);
  }
  if (seconds < min || seconds > max || (!zero_ok && seconds <= 0)) {
    const std::string range = zero_ok ? ConfigNumberText(min) + " to " + ConfigNumberText(max)
                                      : "more than " + ConfigNumberText(min) + " and at most " + ConfigNumberText(max);
    return Status::InvalidArgument("must be " + range + " seconds, not " + ConfigNumberText(seconds));
  }
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

Result<std::int64_t> ConfigWhole(const ConfigValue& v, std::int64_t min, std::int64_t max, std::string_view unit) {
  if (v.kind != ConfigValue::Kind::kInteger) return Status::InvalidArgument("must be a whole number of " + std::string(unit) + ", not " + v.type);
  if (v.integer < min || v.integer > max) {
    return Status::InvalidArgument("must be " + std::to_string(min) + " to " + std::to_string(max) + " " + std::string(unit) +
                                   ", not " + std::to_string(v.integer));
  }
  return v.integer;
}

const std::vector<std::string_view> kRunSettingKeys = {
    "listen", "timeout", "handshake_timeout", "max_clients", "max_pending", "max_pending_per_address",
    "credential_days", "min_group", "log_level", "shutdown_grace", "attachment_max_mib", "attachment_device_quota_mib",
    "attachment_country_quota_mib"};

std::string UnknownConfigKey() {
  std::string known;
  for (auto k : kRunSettingKeys) known += (known.empty() ? "" : ", ") + std::string(k);
  return "unknown key (the keys are " + known + ")";
}

// The one place each key's type and range is decided, for the file and the flags alike.
Status ApplyConfigValue(RunSettings& s, std::string_view key, const ConfigValue& v) {
  const auto whole = [&](auto& member, std::int64_t min, std::int64_t max, std::string_view unit) -> Status {
    auto n = ConfigWhole(v, min, max, unit);
    if (!n.ok()) return n.status();
    member = static_cast<std::remove_reference_t<decltype(member)>>(*n);
    return Status::OK();
  };
  const auto seconds = [&](std::chrono::milliseconds& member, double min, double max, bool zero_ok) -> Status {
    auto d = ConfigSeconds(v, min, max, zero_ok);
    if (!d.ok()) return d.status();
    member = *d;
    return Status::OK();
  };
  if (key == "listen") {
    if (v.kind != ConfigValue::Kind::kText) return Status::InvalidArgument("must be \"HOST:PORT\" text, not " + v.type);
    auto hp = ParseHostPort(v.text);
    if (!hp.ok()) return hp.status();
    s.listen = v.text;
    return Status::OK();
  }
  if (key == "timeout") return seconds(s.timeout, 0, 3600, false);
  if (key == "handshake_timeout") return seconds(s.handshake_timeout, 0, 3600, false);
  if (key == "max_clients") return whole(s.max_clients, 1, 100000, "sessions");
  if (key == "max_pending") return whole(s.max_pending, 1, 1000000, "connections");
  if (key == "max_pending_per_address") return whole(s.max_pending_per_address, 1, 100000, "connections");
  if (key == "credential_days") return whole(s.credential_days, 1, 7300, "days");
  if (key == "min_group") return whole(s.min_group, 1, 1000, "countries");
  if (key == "shutdown_grace") return seconds(s.shutdown_grace, 0, 3600, true);
  // No setting may raise a file past the protocol's ceiling (limits::kAttachmentBytes, 64 MiB).
  if (key == "attachment_max_mib") return whole(s.attachment_max_mib, 1, 64, "MiB");
  if (key == "attachment_device_quota_mib") return whole(s.attachment_device_quota_mib, 0, 1 << 20, "MiB");
  if (key == "attachment_country_quota_mib") return whole(s.attachment_country_quota_mib, 0, 1 << 20, "MiB");
  if (key == "log_level") {
    if (v.kind != ConfigValue::Kind::kText) return Status::InvalidArgument("must be error, warning, info or debug, not " + v.type);
    auto level = ParseLogLevel(v.text);
    if (!level) return Status::InvalidArgument("must be error, warning, info or debug, not \"" + v.text.substr(0, 40) + "\"");
    s.log_level = *level;
    return Status::OK();
  }
  return Status::InvalidArgument(UnknownConfigKey());
}

ConfigValue ConfigValueOfNode(const toml::node& node) {
  ConfigValue v;
  switch (node.type()) {
    case toml::node_type::integer:
      v.kind = ConfigValue::Kind::kInteger;
      v.integer = node.as_integer()->get();
      v.type = "the integer " + std::to_string(v.integer);
      break;
    case toml::node_type::floating_point:
      v.kind = ConfigValue::Kind::kNumber;
      v.number = node.as_floating_point()->get();
      v.type = "the number " + ConfigNumberText(v.number);
      break;
    case toml::node_type::string:
      v.kind = ConfigValue::Kind::kText;
      v.text = node.as_string()->get();
      v.type = "text";
      break;
    case toml::node_type::boolean: v.type = "true/false"; break;
    case toml::node_type::table: v.type = "a table"; break;
    case toml::node_type::array: v.type = "an array"; break;
    default: v.type = "a date or time"; break;
  }
  return v;
}

std::string ConfigPlace(const std::string& path, const toml::source_region& where) {
  return path + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
}

}  // namespace

const std::vector<std::string_view>& RunSettingKeys() { return kRunSettingKeys; }

std::string ConfigPath(const std::optional<std::string>& config) {
  if (config) return *config;
  return ::access(kDefaultConfigPath, F_OK) == 0 ? std::string(kDefaultConfigPath) : std::string();
}

Result<RunSettings> CommandSettings(const std::optional<std::string>& config) {
  const std::string path = ConfigPath(config);
  if (path.empty()) return RunSettings{};
  return LoadRunSettings(path);
}

Result<RunSettings> LoadRunSettings(const std::string& path, const RunSettings& base) {
  auto text = ReadFile(path, kConfigFileBytes);
  if (!text.ok()) return Status::InvalidArgument(text.status().message());
  toml::table root;
  try {
    root = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(ConfigPlace(path, e.source()) + ": " + std::string(e.description()));
  }
  RunSettings s = base;
  for (auto&& [key, node] : root) {
    const std::string name(key.str());
    // An unknown key is named where the key is; a bad value where the value is.
    if (std::find(kRunSettingKeys.begin(), kRunSettingKeys.end(), name) == kRunSettingKeys.end()) {
      return Status::InvalidArgument(ConfigPlace(path, key.source()) + ": " + name.substr(0, 60) + ": " + UnknownConfigKey());
    }
    Status set = ApplyConfigValue(s, name, ConfigValueOfNode(node));
    if (!set.ok()) return Status::InvalidArgument(ConfigPlace(path, node.source()) + ": " + name + ": " + set.message());
  }
  return s;
}

Status SetRunSetting(RunSettings& settings, std::string_view key, const std::string& text) {
  ConfigValue v;
  v.kind = ConfigValue::Kind::kText;
  v.text = text;
  v.type = "\"" + text.substr(0, 40) + "\"";  // a flag's value is text unless it reads as a number
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  std::int64_t integer = 0;
  double number = 0;
  if (auto [p, ec] = std::from_chars(begin, end, integer); ec == std::errc() && p == end && !text.empty()) {
    v.kind = ConfigValue::Kind::kInteger;
    v.integer = integer;
    v.type = "the integer " + std::to_string(integer);
  } else if (auto [q, ec2] = std::from_chars(begin, end, number); ec2 == std::errc() && q == end && !text.empty()) {
    v.kind = ConfigValue::Kind::kNumber;
    v.number = number;
    v.type = "the number " + ConfigNumberText(number);
  }
  RunSettings changed = settings;
  MNR_RETURN_IF_ERROR(ApplyConfigValue(changed, key, v));
  settings = std::move(changed);
  return Status::OK();
}

}  // namespace mnr::server
