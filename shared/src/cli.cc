#include "mnr/cli.h"

#include <iostream>

#include "mnr/i18n.h"

namespace mnr::cli {

bool Args::Has(std::string_view option) const { return values_.find(option) != values_.end(); }

std::optional<std::string> Args::Get(std::string_view option) const {
  auto it = values_.find(option);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Args::GetOr(std::string_view option, std::string_view fallback) const {
  auto v = Get(option);
  return v ? *v : std::string(fallback);
}

std::vector<std::string> Args::GetAll(std::string_view option) const {
  auto it = values_.find(option);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Parser::Parser(std::string usage_line, std::string summary) : usage_(std::move(usage_line)), summary_(std::move(summary)) {}

Parser& Parser::Option(std::string name, std::string metavar, std::string help, bool required, bool repeatable) {
  options_.push_back({std::move(name), std::move(metavar), std::move(help), required, repeatable, false});
  return *this;
}

Parser& Parser::Flag(std::string name, std::string help) {
  options_.push_back({std::move(name), "", std::move(help), false, false, true});
  return *this;
}

Parser& Parser::Positional(std::string name, std::string help, bool required) {
  positionals_.push_back({std::move(name), std::move(help), required});
  return *this;
}

Parser& Parser::Epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

Result<Args> Parser::Parse(const std::vector<std::string>& argv) const {
  Args args;
  bool only_positional = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!only_positional && (a == "--help" || a == "-h")) {
      std::cout << Help();
      return Status::NotFound("help shown");
    }
    if (!only_positional && a == "--") {
      only_positional = true;
      continue;
    }
    if (!only_positional && a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      std::optional<std::string> inline_value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const Opt* opt = nullptr;
      for (const auto& o : options_) if (o.name == name) opt = &o;
      if (!opt) return Status::InvalidArgument(tr("unknown option --{1} (see --help)", name));
      auto& slot = args.values_[name];
      if (opt->flag) {
        if (inline_value) return Status::InvalidArgument(tr("--{1} takes no value", name));
        slot.push_back("");
        continue;
      }
      if (!slot.empty() && !opt->repeatable) return Status::InvalidArgument(tr("--{1} given more than once", name));
      if (inline_value) {
        slot.push_back(*inline_value);
      } else {
        if (i + 1 >= argv.size()) return Status::InvalidArgument(tr("--{1} needs a value ({2})", name, opt->metavar));
        slot.push_back(argv[++i]);
      }
      continue;
    }
    args.positional_.push_back(a);
  }
  for (const auto& o : options_) {
    if (o.required && !args.Has(o.name)) return Status::InvalidArgument(tr("--{1} {2} is required", o.name, o.metavar));
  }
  std::size_t required = 0;
  for (const auto& p : positionals_) required += p.required ? 1 : 0;
  if (args.positional_.size() < required) {
    return Status::InvalidArgument(tr("missing {1} (see --help)", positionals_[args.positional_.size()].name));
  }
  if (args.positional_.size() > positionals_.size()) {
    return Status::InvalidArgument(tr("unexpected argument \"{1}\" (see --help)", args.positional_[positionals_.size()]));
  }
  return args;
}

// Help texts are English msgids (extracted from the .Option/.Flag/.Positional/.Epilog calls, see
// po/extract.sh) and translated here, when shown; the summary is translated by the caller.
std::string Parser::Help() const {
  std::string out = tr("usage: {1}", usage_) + "\n\n" + summary_ + "\n";
  if (!positionals_.empty()) {
    out += "\n" + tr("arguments:") + "\n";
    for (const auto& p : positionals_) {
      std::string left = "  " + p.name;
      if (left.size() < 26) left.resize(26, ' ');
      out += left + " " + (p.help.empty() ? p.help : tr(p.help.c_str())) + "\n";
    }
  }
  out += "\n" + tr("options:") + "\n";
  for (const auto& o : options_) {
    std::string left = "  --" + o.name + (o.flag ? "" : " " + o.metavar);
    if (left.size() < 26) left.resize(26, ' ');
    out += left + " " + (o.help.empty() ? o.help : tr(o.help.c_str()));
    if (o.required) out += " " + tr("(required)");
    if (o.repeatable) out += " " + tr("(repeatable)");
    out += "\n";
  }
  out += "  --help                   " + tr("show this help and exit") + "\n";
  if (!epilog_.empty()) out += "\n" + tr(epilog_.c_str()) + "\n";
  return out;
}

std::optional<int> ParseOrExit(const Parser& p, const std::vector<std::string>& argv, std::string_view program, Args& out) {
  auto r = p.Parse(argv);
  if (r.ok()) {
    out = std::move(r).value();
    return std::nullopt;
  }
  if (r.status().code() == Status::Code::kNotFound) return kExitOk;
  std::cerr << program << ": " << r.status().message() << "\n";
  return kExitUsage;
}

int Fail(std::string_view program, const Status& s) {
  std::cerr << program << ": " << s.message() << "\n";
  return kExitFailure;
}

}  // namespace mnr::cli
