// The settings of `mnr-server run` and where they come from: built-in defaults, then the
// configuration file (/etc/mnr-sync/server.toml, TOML; every key is described in docs/config.md and
// packaging/server.toml), then the command line. A key the file does not set keeps its default; a
// flag given on the command line wins over the file.
#pragma once

#include <chrono>
#include <optional>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"
#include "server/server_log.h"

namespace mnr::server {

// Where `run` looks when --config is not given; that file may be absent (then the defaults hold).
inline constexpr const char* kDefaultConfigPath = "/etc/mnr-sync/server.toml";

// The largest configuration file read: a real one is a few kilobytes.
inline constexpr std::size_t kConfigFileBytes = 1 << 20;

struct RunSettings {
  std::string listen = "0.0.0.0:7443";                   // listen: HOST:PORT
  std::chrono::milliseconds timeout{30000};              // timeout: a client making no progress is dropped
  std::chrono::milliseconds handshake_timeout{5000};     // handshake_timeout: accept to Hello, as a whole
  std::size_t max_clients = 256;                         // max_clients: sessions at once; more are told Busy
  std::size_t max_pending = 1024;                        // max_pending: connections before Hello, in all
  std::size_t max_pending_per_address = 8;               // max_pending_per_address: the same, per address
  int credential_days = 730;                             // credential_days: lifetime `issue`/`renew` default to
  int min_group = 3;                                     // min_group: smallest group a public table shows
  LogLevel log_level = LogLevel::kInfo;                  // log_level: error|warning|info|debug
  std::chrono::milliseconds shutdown_grace{10000};       // shutdown_grace: SIGTERM waits this for syncs
  std::size_t attachment_max_mib = 20;                   // attachment_max_mib: the largest attachment taken
  std::size_t attachment_device_quota_mib = 512;         // attachment_device_quota_mib: files one device may bring
  std::size_t attachment_country_quota_mib = 1024;       // attachment_country_quota_mib: files one country may hold

  bool operator==(const RunSettings&) const = default;
};

// The keys a configuration file may hold, in the order docs/config.md and packaging/server.toml list
// them (the names are the command-line flags' names with '_' for '-').
const std::vector<std::string_view>& RunSettingKeys();

// Reads the TOML file at `path` (at most kConfigFileBytes) over `base`. Every key must be one of
// RunSettingKeys(), of the right type and in range. On failure nothing is returned and the message
// reads "PATH:LINE:COLUMN: KEY: what is wrong" (without "KEY: " for a TOML syntax error), or
// "PATH: why" when the file cannot be read.
Result<RunSettings> LoadRunSettings(const std::string& path, const RunSettings& base = {});

// The configuration file a command reads: `config` (--config) when given, else kDefaultConfigPath when
// it exists, else "" (none: the built-in defaults hold).
std::string ConfigPath(const std::optional<std::string>& config);
// The settings of the file ConfigPath names, or the defaults. `issue` and `renew` take their --days
// default from credential_days, `release` and `aggregate --public` their --min-group default from
// min_group, so one file describes the whole server.
Result<RunSettings> CommandSettings(const std::optional<std::string>& config);

// Sets one key from the text of a command-line flag, with the same types and ranges as the file: a
// number of seconds for the timeouts and shutdown_grace, a whole number for the counts, a name for
// log_level, HOST:PORT for listen. On failure `settings` is unchanged and the message says what is
// wrong (without the key, which the caller names as its flag).
Status SetRunSetting(RunSettings& settings, std::string_view key, const std::string& text);

}  // namespace mnr::server
