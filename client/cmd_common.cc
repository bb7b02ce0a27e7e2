#include "client/cmd_common.h"

#include <iostream>

#include "mnr/i18n.h"

namespace mnr::client {

int Fail(const Status& s) {
  std::cerr << kProgram << ": " << s.message() << "\n";
  return cli::kExitFailure;
}

int UsageError(std::string_view message) {
  std::cerr << kProgram << ": " << message << "\n";
  return cli::kExitUsage;
}

Result<std::unique_ptr<ClientStore>> OpenStore(const cli::Args& args) {
  auto db = args.Get("db");
  if (!db) return Status::InvalidArgument(tr("--db PATH is required"));
  auto store = ClientStore::Open(*db);
  if (!store.ok()) return store;
  if (auto round = args.Get("round")) MNR_RETURN_IF_ERROR((*store)->UseRound(*round));
  return store;
}

cli::Parser& WithRound(cli::Parser& p) {
  return p.Option("round", "YEAR", "the survey round (default: the one the store works on, see `mnr-client round`)");
}

std::string OneLine(std::string_view s, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > s.size()) len = s.size() - i;
    if (chars == max_chars) {
      out += "\u2026";
      break;
    }
    if (c == '\n') {
      out += "\u23ce";
    } else if (c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
    ++chars;
  }
  return out;
}

std::string StatusLabel(const std::string& label) {
  std::size_t chars = 0;
  for (unsigned char c : label) chars += (c & 0xC0) != 0x80 ? 1 : 0;
  return label + std::string(chars < 13 ? 13 - chars : 1, ' ');
}

std::vector<std::string> SplitCountries(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t p = v.find(',', start);
      std::string part = v.substr(start, p == std::string::npos ? std::string::npos : p - start);
      if (!part.empty()) out.push_back(part);
      if (p == std::string::npos) break;
      start = p + 1;
    }
  }
  return out;
}

}  // namespace mnr::client
