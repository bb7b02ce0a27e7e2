// mnr-client in French (GNU gettext, po/fr.po): chosen by LANG, LANGUAGE or --lang; English stays the
// default under LANG=C or with nothing set; the catalogue covers every message the sources mark.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/e2e/sync_harness.h"
#include "tests/support/process.h"

using mnr::test::RunResult;
using mnr::test::TempDir;

namespace {

// The environment of a user whose locale settings are exactly these (the rest cleared).
std::vector<std::string> Env(const std::string& lang, const std::string& language = "") {
  return {"LANG=" + lang, "LANGUAGE=" + language, "LC_ALL=", "LC_MESSAGES="};
}

RunResult Client(std::vector<std::string> args, const std::vector<std::string>& env, const std::string& input = "") {
  args.insert(args.begin(), mnr::test::ClientBin());
  return mnr::test::Run(args, input, std::chrono::seconds(60), env);
}

bool Has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

constexpr const char* kEnglishUsage = "usage: mnr-client COMMAND [ARGS...]";
constexpr const char* kFrenchUsage = "usage : mnr-client COMMANDE [ARGUMENTS...]";
constexpr const char* kFrenchSurveyLine = "répondre au questionnaire de façon interactive dans le terminal";

}  // namespace

TEST_CASE("The overview is French under LANG=fr_FR.UTF-8 even with no French locale installed", "[client][i18n]") {
  auto r = Client({"--help"}, Env("fr_FR.UTF-8"));
  REQUIRE(r.exit_code == 0);
  CHECK(Has(r.out, kFrenchUsage));
  CHECK(Has(r.out, kFrenchSurveyLine));
  CHECK(Has(r.out, "Code de sortie : 0 fait, 1 échec ou refus (rien n'a été écrit), 2 ligne de commande incorrecte."));
  CHECK_FALSE(Has(r.out, kEnglishUsage));
}

TEST_CASE("The option --lang fr, before or after the command, chooses French whatever the locale", "[client][i18n]") {
  auto before = Client({"--lang", "fr", "--help"}, Env("C"));
  REQUIRE(before.exit_code == 0);
  CHECK(Has(before.out, kFrenchUsage));

  auto after = Client({"status", "--help", "--lang=fr"}, Env("C"));
  REQUIRE(after.exit_code == 0);
  CHECK(Has(after.out, "usage : mnr-client status --db PATH"));
  CHECK(Has(after.out, "options :"));
  CHECK(Has(after.out, "la base locale du client (obligatoire)"));
  CHECK(Has(after.out, "afficher cette aide et quitter"));

  auto english = Client({"--lang", "en", "--help"}, Env("fr_FR.UTF-8"));
  CHECK(Has(english.out, kEnglishUsage));

  auto bad = Client({"--lang", "de", "--help"}, Env("C"));
  CHECK(bad.exit_code == 2);
  CHECK(Has(bad.err, "--lang must be en or fr, not \"de\""));
}

TEST_CASE("LANGUAGE=fr chooses French unless the locale is exactly C, as in GNU gettext", "[client][i18n]") {
  auto unset = Client({"--help"}, Env("", "fr"));
  CHECK(Has(unset.out, kFrenchUsage));
  auto c_utf8 = Client({"--help"}, Env("C.UTF-8", "fr:en"));
  CHECK(Has(c_utf8.out, kFrenchUsage));
  auto c = Client({"--help"}, Env("C", "fr"));
  CHECK(Has(c.out, kEnglishUsage));
}

TEST_CASE("English is the default under LANG=C and with no locale variable set", "[client][i18n]") {
  for (const auto& env : {Env("C"), Env(""), Env("POSIX"), Env("en_GB.UTF-8")}) {
    auto r = Client({"--help"}, env);
    REQUIRE(r.exit_code == 0);
    CHECK(Has(r.out, kEnglishUsage));
    CHECK(Has(r.out, "answer the questionnaire interactively in the terminal"));
  }
}

TEST_CASE("A French error names the same file and line as the English one and changes nothing", "[client][i18n]") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Client({"init", "--db", db, "--country", "X01"}, Env("C")).exit_code == 0);
  const std::string csv = dir / "countries.csv";
  mnr::test::WriteText(csv, "code,name,income_group,region\nX01,Xland,high,Europe\nx2,Bad,high,Europe\n");

  auto en = Client({"countries", "import", "--db", db, csv}, Env("C"));
  auto fr = Client({"countries", "import", "--db", db, csv}, Env("fr_FR.UTF-8"));
  CHECK(en.exit_code == 1);
  CHECK(fr.exit_code == 1);
  CHECK(Has(en.err, csv + ":3: code: \"x2\" is not 2 to 8 capital letters and digits"));
  CHECK(Has(fr.err, csv + ":3: code : « x2 » n'est pas fait de 2 à 8 majuscules et chiffres"));
  CHECK(Has(fr.err, csv + " : 1 erreur(s) ; rien n'a été importé"));

  auto usage = Client({"status", "--bogus"}, Env("fr_FR.UTF-8"));
  CHECK(usage.exit_code == 2);
  CHECK(Has(usage.err, "option inconnue --bogus (voir --help)"));

  auto list = Client({"countries", "list", "--db", db}, Env("C"));
  CHECK(list.out.empty());  // nothing was imported
}

TEST_CASE("status and sync speak French while the store keeps its record in English", "[client][i18n]") {
  mnr::test::SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  REQUIRE(Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}, Env("C")).exit_code == 0);

  auto before = Client({"status", "--db", db}, Env("fr_FR.UTF-8"));
  REQUIRE(before.exit_code == 0);
  CHECK(Has(before.out, "base :       " + db));
  CHECK(Has(before.out, "à envoyer :  1 modification\n"));
  CHECK(Has(before.out, "synchro :    jamais"));
  CHECK(Has(before.out, "conflits :   aucun ouvert sur les modifications de cet appareil"));
  CHECK(Has(before.out, "enquête :    schéma v"));

  auto sync = Client({"sync", "--db", db, "--lang", "fr"}, Env("C"));
  INFO(sync.err);
  REQUIRE(sync.exit_code == 0);
  CHECK(Has(sync.out, "synchronisé : 1 lot(s) de modifications envoyé(s), "));
  CHECK(Has(sync.out, " champ(s) reçu(s)"));

  auto again = Client({"sync", "--db", db}, Env("", "fr"));
  REQUIRE(again.exit_code == 0);
  CHECK(Has(again.out, "à jour"));

  // The sync result is stored as data, in English; the labels around it follow the reader.
  auto en = Client({"status", "--db", db}, Env("C"));
  CHECK(Has(en.out, "unsynced:    0 edits\n"));
  CHECK(Has(en.out, "last sync:   "));
  CHECK(Has(en.out, "up to date"));
  auto fr = Client({"status", "--db", db}, Env("fr_FR.UTF-8"));
  CHECK(Has(fr.out, "à envoyer :  0 modification\n"));
  CHECK(Has(fr.out, "en attente : 0 lot de modifications pas encore accusé par le serveur"));
}

TEST_CASE("The French questionnaire shows and accepts the French letters", "[client][i18n]") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Client({"init", "--db", db, "--country", "X01"}, Env("C")).exit_code == 0);
  auto r = Client({"survey", "--db", db}, Env("fr_FR.UTF-8"), "o\nLoi de 2021\ni\n\nq\n");
  REQUIRE(r.exit_code == 0);
  CHECK(Has(r.out, "[o]ui [p]artiel [n]on [i]nconnu [s]auter [r]etour [q]uitter > "));
  CHECK(Has(r.out, "== Domaine 1 : "));
  CHECK(Has(r.out, "Enregistré."));
  CHECK(Has(r.out, "2 indicateurs sur 27 renseignés pour X01 (oui 1, partiel 0, non 0, inconnu 1)"));

  auto exported = Client({"export", "--db", db, "--format", "csv"}, Env("C"));
  CHECK(Has(exported.out, "X01,c01_"));
  CHECK(Has(exported.out, ",yes,Loi de 2021"));  // answer codes are data: never translated
}

TEST_CASE("fr.po translates every message the sources mark and the template is up to date", "[client][i18n]") {
  auto r = mnr::test::Run({"/bin/sh", mnr::test::SourceDir() + "/po/check.sh"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(Has(r.out, "po/fr.po: "));
  CHECK_FALSE(Has(r.out + r.err, "untranslated"));
}
