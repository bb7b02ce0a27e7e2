// Helpers every mnr-server subcommand shares, so errors read the same and a credential's lifetime is
// checked by one rule whichever command issues it.
#pragma once

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mnr/cli.h"
#include "mnr/status.h"

namespace mnr::server {

inline constexpr const char* kProgram = "mnr-server";

inline int Failure(const Status& s) { return cli::Fail(kProgram, s); }

inline int Usage(const std::string& message) {
  std::cerr << kProgram << ": " << message << "\n";
  return cli::kExitUsage;
}

// `--days N` for `issue` and `renew` (default `default_days`, the configuration's credential_days): a
// whole number from 1 to 7300, or the usage error to report.
inline Result<long long> CredentialLifetimeDays(const cli::Args& a, int default_days) {
  long long days = 0;
  try {
    std::size_t used = 0;
    const std::string d = a.GetOr("days", std::to_string(default_days));
    days = std::stoll(d, &used);
    if (used != d.size()) throw std::invalid_argument(d);
  } catch (const std::exception&) {
    return Status::InvalidArgument("--days must be a whole number of days");
  }
  if (days < 1 || days > 7300) return Status::InvalidArgument("--days must be between 1 and 7300");
  return days;
}

// Prints rows as left-aligned columns separated by two spaces.
inline void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace mnr::server
