#include "mnr/i18n.h"

#include <libintl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <string>

namespace mnr {
namespace {

std::string g_language = "en";

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// "fr_FR.UTF-8@euro" -> "fr"; "fr:en" -> "fr".
std::string LanguageOf(std::string_view locale) {
  const auto end = locale.find_first_of("_.@:");
  return std::string(locale.substr(0, end));
}

std::string ChooseLanguage(std::string_view option) {
  if (!option.empty()) return LanguageOf(option);
  const char* locale = Env("LC_ALL");
  if (!locale) locale = Env("LC_MESSAGES");
  if (!locale) locale = Env("LANG");
  // GNU gettext ignores LANGUAGE under the "C" locale, so `LANG=C cmd` gives English even when a
  // desktop session exported LANGUAGE; keep that.
  const std::string_view l = locale ? locale : "";
  if (l == "C" || l == "POSIX") return "en";
  if (const char* language = Env("LANGUAGE")) {
    // The first entry we have a catalogue for; English is the source, so it needs none.
    std::string_view rest = language;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string lang = LanguageOf(rest.substr(0, colon));
      if (lang == "fr" || lang == "en") return lang;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return locale ? LanguageOf(l) : "en";
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string InitMessages(const MessagesConfig& config) {
  std::string lang = ChooseLanguage(config.language);
  if (lang != "fr") lang = "en";
  g_language = lang;
  std::string dir = config.installed_localedir;
  if (!dir.empty() && dir.front() != '/') {
    // Relative to the directory of the running binary: <prefix>/bin/../share/locale.
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
      std::string path(exe, static_cast<std::size_t>(n));
      dir = path.substr(0, path.rfind('/') + 1) + dir;
    }
  }
  if (const char* env = Env("MNR_LOCALEDIR")) {
    dir = env;
  } else if (config.build_localedir &&
             Exists(std::string(config.build_localedir) + "/fr/LC_MESSAGES/" + config.domain + ".mo")) {
    dir = config.build_localedir;
  }
  bindtextdomain(config.domain, dir.c_str());
  // Our catalogues and our output are UTF-8 whatever the locale's character set (often ASCII "C").
  bind_textdomain_codeset(config.domain, "UTF-8");
  textdomain(config.domain);
  if (lang == "en") return lang;  // the messages locale stays "C": gettext returns the source text
  // gettext translates only when the messages locale is not "C". A minimal system may have no French
  // locale installed; C.UTF-8 is always there (glibc >= 2.35 built in, Debian's C.utf8), and gettext
  // honours LANGUAGE under it. Only LC_MESSAGES changes: numbers and dates keep the "C" format that
  // CSV, JSON and logs rely on.
  if (!std::setlocale(LC_MESSAGES, "") || LanguageOf(std::setlocale(LC_MESSAGES, nullptr)) != lang) {
    if (!std::setlocale(LC_MESSAGES, "C.UTF-8")) std::setlocale(LC_MESSAGES, "C.utf8");
  }
  ::setenv("LANGUAGE", lang.c_str(), 1);
  return lang;
}

std::string_view MessagesLanguage() { return g_language; }

// gettext("") would return the catalogue's header.
std::string tr(const char* msgid) { return *msgid ? gettext(msgid) : ""; }

std::string tr_if(bool translate, const char* msgid, std::initializer_list<std::string_view> args) {
  return Substitute(translate ? tr(msgid) : std::string(msgid), args);
}

std::string trn(const char* singular, const char* plural, std::uint64_t n) {
  std::string s = ngettext(singular, plural, static_cast<unsigned long>(n));
  const std::string count = std::to_string(n);
  for (std::size_t p = s.find("{n}"); p != std::string::npos; p = s.find("{n}", p + count.size())) {
    s.replace(p, 3, count);
  }
  return s;
}

std::string Substitute(std::string_view pattern, std::initializer_list<std::string_view> args) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    // "{N}" with N in 1..9 is a placeholder; anything else is copied as is.
    if (pattern[i] == '{' && i + 2 < pattern.size() && pattern[i + 1] >= '1' && pattern[i + 1] <= '9' &&
        pattern[i + 2] == '}') {
      const std::size_t k = static_cast<std::size_t>(pattern[i + 1] - '1');
      if (k < args.size()) {
        out.append(*(args.begin() + k));
        i += 2;
        continue;
      }
    }
    out.push_back(pattern[i]);
  }
  return out;
}

}  // namespace mnr
