// Translated messages for the command-line tools (GNU gettext, text domain per program). English is
// the source language: a message without a translation, or any message when no language other than
// English is chosen, is printed as written in the source. Data formats (the wire protocol, CSV headers,
// answer codes, log and audit contents, --format json keys) are never passed through here.
//
// Not thread-safe to initialise: call InitMessages once at the start of main(), before any thread.
// tr() itself is safe to call from any thread after that.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace mnr {

struct MessagesConfig {
  const char* domain;          // text domain, e.g. "mnr-client" (the .mo file's name)
  std::string_view language;   // from --lang ("en", "fr"); empty: from the environment
  const char* build_localedir;      // the build tree's catalogues (used when they exist there)
  const char* installed_localedir;  // e.g. /usr/share/locale
};

// Chooses the language and binds the catalogues. The language is, in order: `config.language`; else,
// as GNU gettext does, LANGUAGE (first entry) unless the locale (LC_ALL, LC_MESSAGES, LANG, first set)
// is exactly "C" or "POSIX"; else that locale's language; else English. Catalogues are read from
// $MNR_LOCALEDIR when set (tests), else from `build_localedir` when it holds this domain's French
// catalogue, else from `installed_localedir`. Works without any installed French locale: the messages
// category falls back to C.UTF-8 and the language is handed to gettext through LANGUAGE.
// Returns the language chosen ("en" or "fr"); an unsupported language gives "en".
std::string InitMessages(const MessagesConfig& config);

// The language InitMessages chose ("en" before it is called).
std::string_view MessagesLanguage();

// The translation of `msgid` (a string literal, extracted by xgettext), or `msgid` itself.
std::string tr(const char* msgid);
// The same, then "{1}", "{2}", ... replaced by the arguments in order; translators may move them.
std::string Substitute(std::string_view pattern, std::initializer_list<std::string_view> args);

// `msgid` translated when `translate`, else the English source; then substituted as above. For a text
// that is both shown (in the user's language) and stored (as data, in English).
std::string tr_if(bool translate, const char* msgid, std::initializer_list<std::string_view> args = {});

namespace i18n_detail {
inline std::string_view Arg(std::string_view s) { return s; }
inline std::string Arg(std::integral auto n) { return std::to_string(n); }
}  // namespace i18n_detail

template <typename... A>
  requires(sizeof...(A) > 0)
std::string tr(const char* msgid, const A&... args) {
  return Substitute(tr(msgid), {std::string_view(i18n_detail::Arg(args))...});
}

// Plural forms: `singular` or `plural` (or the language's own forms) chosen by `n`, then substituted
// as above; "{n}" in the message is replaced by `n`.
std::string trn(const char* singular, const char* plural, std::uint64_t n);
template <typename... A>
std::string trn(const char* singular, const char* plural, std::uint64_t n, const A&... args)
  requires(sizeof...(A) > 0)
{
  return Substitute(trn(singular, plural, n), {std::string_view(i18n_detail::Arg(args))...});
}

}  // namespace mnr
