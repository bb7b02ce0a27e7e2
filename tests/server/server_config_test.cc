// The configuration file of `mnr-server run` (server/server_config.h), read from real files.
#include "server/server_config.h"

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>

#include "tests/support/process.h"

namespace mnr::server {
namespace {

using mnr::test::TempDir;
using mnr::test::WriteText;

// Writes `text` as DIR/server.toml and loads it over the defaults.
Result<RunSettings> LoadConfigText(const TempDir& dir, const std::string& text) {
  WriteText(dir / "server.toml", text);
  return LoadRunSettings(dir / "server.toml");
}

TEST_CASE("An empty configuration file gives the built-in defaults, which are today's flag defaults") {
  TempDir dir;
  auto s = LoadConfigText(dir, "# nothing set\n");
  REQUIRE(s.ok());
  CHECK(*s == RunSettings{});
  CHECK(s->listen == "0.0.0.0:7443");
  CHECK(s->timeout == std::chrono::seconds(30));
  CHECK(s->handshake_timeout == std::chrono::seconds(5));
  CHECK(s->max_clients == 256);
  CHECK(s->max_pending == 1024);
  CHECK(s->max_pending_per_address == 8);
  CHECK(s->credential_days == 730);
  CHECK(s->min_group == 3);
  CHECK(s->log_level == LogLevel::kInfo);
  CHECK(s->shutdown_grace == std::chrono::seconds(10));
}

TEST_CASE("Keys the file sets take its values and the others keep their defaults") {
  TempDir dir;
  auto s = LoadConfigText(dir,
                          "listen = \"127.0.0.1:9443\"\n"
                          "timeout = 2.5\n"
                          "max_clients = 12\n"
                          "log_level = \"debug\"\n"
                          "shutdown_grace = 0\n");
  REQUIRE(s.ok());
  CHECK(s->listen == "127.0.0.1:9443");
  CHECK(s->timeout == std::chrono::milliseconds(2500));
  CHECK(s->max_clients == 12);
  CHECK(s->log_level == LogLevel::kDebug);
  CHECK(s->shutdown_grace == std::chrono::milliseconds(0));
  CHECK(s->max_pending == RunSettings{}.max_pending);
  CHECK(s->handshake_timeout == RunSettings{}.handshake_timeout);
}

TEST_CASE("The shipped server.toml documents every key with its true default") {
  const std::string shipped = mnr::test::ReadText(mnr::test::SourceDir() + "/packaging/server.toml");
  // Uncomment each "# key = value" line: the result must be exactly the built-in defaults.
  std::istringstream in(shipped);
  std::string line, uncommented;
  std::vector<std::string> keys;
  const std::regex setting("^# ([a-z_]+) = .*$");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, setting)) {
      keys.push_back(m[1]);
      uncommented += line.substr(2) + "\n";
    }
  }
  CHECK(keys == std::vector<std::string>(RunSettingKeys().begin(), RunSettingKeys().end()));
  TempDir dir;
  auto s = LoadConfigText(dir, uncommented);
  INFO(uncommented);
  REQUIRE(s.ok());
  CHECK(*s == RunSettings{});
  // The documentation lists the same keys.
  const std::string doc = mnr::test::ReadText(mnr::test::SourceDir() + "/docs/config.md");
  for (const auto& k : keys) {
    INFO(k);
    CHECK(doc.find("`" + k + "`") != std::string::npos);
  }
}

TEST_CASE("An unknown key fails with the file, the line and column of the key, and the keys there are") {
  TempDir dir;
  auto s = LoadConfigText(dir, "timeout = 10\n  max_client = 5\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().rfind(dir / "server.toml" + ":2:3: max_client: unknown key (the keys are listen, timeout,", 0) == 0);
}

TEST_CASE("A value of the wrong type fails at the value and names the key") {
  TempDir dir;
  auto s = LoadConfigText(dir, "\nmax_clients = \"many\"\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() == dir / "server.toml" + ":2:15: max_clients: must be a whole number of sessions, not text");
  s = LoadConfigText(dir, "max_pending = 2.5\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() == dir / "server.toml" + ":1:15: max_pending: must be a whole number of connections, not the number 2.5");
  s = LoadConfigText(dir, "log_level = 3\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() == dir / "server.toml" + ":1:13: log_level: must be error, warning, info or debug, not the integer 3");
  s = LoadConfigText(dir, "[limits]\nmax_clients = 5\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() == dir / "server.toml" + ":1:2: limits: unknown key (the keys are listen, timeout, handshake_timeout, "
                                "max_clients, max_pending, max_pending_per_address, credential_days, min_group, log_level, "
                                "shutdown_grace, attachment_max_mib, attachment_device_quota_mib, attachment_country_quota_mib)");
}

TEST_CASE("A value out of range fails and says the range") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"timeout = 0", ":1:11: timeout: must be more than 0 and at most 3600 seconds, not 0"},
      {"handshake_timeout = 7200", ":1:21: handshake_timeout: must be more than 0 and at most 3600 seconds, not 7200"},
      {"max_clients = 0", ":1:15: max_clients: must be 1 to 100000 sessions, not 0"},
      {"max_pending_per_address = -1", ":1:27: max_pending_per_address: must be 1 to 100000 connections, not -1"},
      {"credential_days = 9000", ":1:19: credential_days: must be 1 to 7300 days, not 9000"},
      {"min_group = 0", ":1:13: min_group: must be 1 to 1000 countries, not 0"},
      {"shutdown_grace = -1", ":1:18: shutdown_grace: must be 0 to 3600 seconds, not -1"},
      {"log_level = \"verbose\"", ":1:13: log_level: must be error, warning, info or debug, not \"verbose\""},
      {"listen = \"localhost\"", ":1:10: listen: "},
  };
  for (const auto& [text, expected] : cases) {
    INFO(text);
    auto s = LoadConfigText(dir, text + "\n");
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message().rfind(dir / "server.toml" + expected, 0) == 0);
  }
}

TEST_CASE("A TOML syntax error fails with its line and column") {
  TempDir dir;
  auto s = LoadConfigText(dir, "timeout = 10\nmax_clients = = 3\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().rfind(dir / "server.toml" + ":2:", 0) == 0);
}

TEST_CASE("A configuration file that cannot be read fails naming it") {
  TempDir dir;
  auto s = LoadRunSettings(dir / "absent.toml");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find(dir / "absent.toml") != std::string::npos);
}

TEST_CASE("A flag's text follows the same types and ranges as the file, and a bad one changes nothing") {
  RunSettings s;
  REQUIRE(SetRunSetting(s, "timeout", "0.5").ok());
  CHECK(s.timeout == std::chrono::milliseconds(500));
  REQUIRE(SetRunSetting(s, "max_clients", "3").ok());
  CHECK(s.max_clients == 3);
  REQUIRE(SetRunSetting(s, "log_level", "warning").ok());
  CHECK(s.log_level == LogLevel::kWarning);
  const RunSettings before = s;
  CHECK(SetRunSetting(s, "max_clients", "2.5").message() == "must be a whole number of sessions, not the number 2.5");
  CHECK(SetRunSetting(s, "timeout", "soon").message() == "must be a number of seconds, not \"soon\"");
  CHECK(SetRunSetting(s, "shutdown_grace", "nan").message().rfind("must be", 0) == 0);
  CHECK(s == before);
}

}  // namespace
}  // namespace mnr::server
