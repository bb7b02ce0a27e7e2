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

TEST_CASE("practice speaks French about an empty list, its overview and an entry's labels", "[client][i18n]") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Client({"init", "--db", db, "--country", "X01"}, Env("C")).exit_code == 0);

  auto empty_fr = Client({"practice", "list", "--db", db}, Env("fr_FR.UTF-8"));
  CHECK(empty_fr.exit_code == 0);
  CHECK(empty_fr.err == "mnr-client: aucune fiche de bonnes pratiques\n");
  auto empty_en = Client({"practice", "list", "--db", db}, Env("C"));
  CHECK(empty_en.err == "mnr-client: no practice entries\n");

  auto overview = Client({"practice", "--help"}, Env("fr_FR.UTF-8"));
  CHECK(overview.exit_code == 0);
  CHECK(Has(overview.out, "usage : mnr-client practice (add|edit|list|show|rm) ...\n"));
  CHECK(Has(overview.out, "  list --db PATH [--country C] [--capability N]\n"));  // the synopsis stays as typed
  CHECK(Has(overview.out, "types : good_practice, challenge, lesson_learned. Lancez `mnr-client practice add --help` pour les détails."));

  auto add = Client({"practice", "add", "--db", db, "--country", "X01", "--capability", "11", "--kind", "good_practice", "--title",
                     "Ligne d'écoute", "--text", "Gratuite, 24 h sur 24."},
                    Env("C"));
  REQUIRE(add.exit_code == 0);
  const std::string id = add.out.substr(0, add.out.find('\n'));
  auto shown = Client({"practice", "show", "--db", db, id}, Env("fr_FR.UTF-8"));
  REQUIRE(shown.exit_code == 0);
  CHECK(Has(shown.out, "pays :       X01\n"));
  CHECK(Has(shown.out, "capacité :   11 ("));
  CHECK(Has(shown.out, "type :       good_practice\n"));  // the kind is data
  CHECK(Has(shown.out, "titre :      Ligne d'écoute\n"));
  auto shown_en = Client({"practice", "show", "--db", db, id}, Env("C"));
  CHECK(Has(shown_en.out, "country:     X01\n"));
  CHECK(Has(shown_en.out, "capability:  11 ("));

  auto bad = Client({"practice", "add", "--db", db, "--country", "X01", "--capability", "11", "--kind", "good_practice"}, Env("fr_FR.UTF-8"));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "mnr-client: practice add demande --title (voir --help)\n");
}

TEST_CASE("conflicts and audit explain themselves in French and keep their synopsis", "[client][i18n]") {
  auto conflicts = Client({"conflicts", "--help"}, Env("fr_FR.UTF-8"));
  CHECK(conflicts.exit_code == 0);
  CHECK(Has(conflicts.out, "usage : mnr-client conflicts list|show|resolve --db PATH ...\n\n"
                           "Les conflits du serveur, vus et résolus depuis le poste d'un coordinateur"));
  auto show = Client({"conflicts", "show", "--help"}, Env("fr_FR.UTF-8"));
  CHECK(Has(show.out, "usage : mnr-client conflicts show --db PATH ID [--ids] [--server HOST:PORT]\n\n"
                      "Affiche chaque candidat d'un conflit, numéroté pour `conflicts resolve --pick N`"));
  auto unknown = Client({"conflicts", "bogus"}, Env("fr_FR.UTF-8"));
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "mnr-client conflicts: action inconnue « bogus » : list, show ou resolve (voir l'aide --help de chacune)\n");
  auto unknown_en = Client({"conflicts", "bogus"}, Env("C"));
  CHECK(unknown_en.err == "mnr-client conflicts: unknown action \"bogus\": list, show or resolve (see --help of each)\n");

  auto audit = Client({"audit", "--help"}, Env("fr_FR.UTF-8"));
  CHECK(audit.exit_code == 0);
  CHECK(Has(audit.out, "usage : mnr-client audit log|export|proof --db PATH ...\n\n"
                       "La piste d'audit du serveur depuis le poste d'un auditeur"));
  auto log = Client({"audit", "log", "--help"}, Env("fr_FR.UTF-8"));
  CHECK(Has(log.out, "Affiche l'historique d'audit du serveur (accréditation d'auditeur ou de coordinateur)"));
  auto none = Client({"audit"}, Env("fr_FR.UTF-8"));
  CHECK(none.exit_code == 2);
  CHECK(none.err == "mnr-client audit: il manque une action : log, export ou proof (voir l'aide --help de chacune)\n");
  auto audit_en = Client({"audit", "--help"}, Env("C"));
  CHECK(Has(audit_en.out, "usage: mnr-client audit log|export|proof --db PATH ...\n\nThe server's audit trail from an auditor's machine"));
}

TEST_CASE("receipts and import-bundle on a store that never synced speak French", "[client][i18n]") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Client({"init", "--db", db, "--country", "X01"}, Env("C")).exit_code == 0);

  auto fr = Client({"receipts", "--db", db}, Env("fr_FR.UTF-8"));
  CHECK(fr.exit_code == 0);
  CHECK(fr.out == "pas encore de reçu (le serveur en envoie un pour chaque lot de modifications qu'il accuse à la synchronisation)\n");
  auto en = Client({"receipts", "--db", db}, Env("C"));
  CHECK(en.out == "no receipts yet (the server sends one for each change-set it acknowledges on sync)\n");
  auto verify = Client({"receipts", "--db", db, "--verify"}, Env("fr_FR.UTF-8"));
  CHECK(verify.exit_code == 1);
  CHECK(Has(verify.err, "cette base n'est pas liée à une accréditation : elle n'a donc pas d'AC pour vérifier les reçus"));

  const std::string bundle = dir / "retour.mnrr";
  mnr::test::WriteText(bundle, "not a bundle");
  auto unbound = Client({"import-bundle", "--db", db, bundle}, Env("fr_FR.UTF-8"));
  CHECK(unbound.exit_code == 1);
  CHECK(Has(unbound.err, db + " n'est liée à aucune accréditation ; lancez d'abord `mnr-client init --db " + db));
}

TEST_CASE("template and import report in French with the same file, line and column as in English", "[client][i18n]") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Client({"init", "--db", db, "--country", "X01"}, Env("C")).exit_code == 0);

  const std::string sheet = dir / "modele.csv";
  auto fr = Client({"template", "--db", db, "--out", sheet}, Env("fr_FR.UTF-8"));
  CHECK(fr.exit_code == 0);
  CHECK(fr.err == "mnr-client: 27 indicateurs à remplir écrits dans " + sheet + "\n");
  auto en = Client({"template", "--db", db, "--out", sheet, "--force"}, Env("C"));
  CHECK(en.err == "mnr-client: wrote 27 indicators to fill in to " + sheet + "\n");
  auto bad = Client({"template", "--db", db, "--format", "ods"}, Env("fr_FR.UTF-8"));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "mnr-client: --format doit valoir csv ou xlsx, reçu « ods »\n");

  const std::string csv = dir / "answers.csv";
  mnr::test::WriteText(csv, "country,indicator,answer,note\nX01,c11_child_helpline,maybe,\n");
  auto wrong_fr = Client({"import", "--db", db, csv}, Env("fr_FR.UTF-8"));
  auto wrong_en = Client({"import", "--db", db, csv}, Env("C"));
  CHECK(wrong_fr.exit_code == 1);
  CHECK(Has(wrong_en.err, csv + ":2: answer: \"maybe\" is not one of yes, partial, no, unknown"));
  CHECK(Has(wrong_fr.err, csv + ":2: answer: « maybe » n'est pas l'une de yes, partial, no, unknown (ou oui, partiel, non, inconnu ;"));
  CHECK(Has(wrong_fr.err, csv + " : 1 ligne incorrecte ; rien n'a été importé"));
  CHECK(Has(wrong_en.err, csv + ": 1 bad row; nothing imported"));

  mnr::test::WriteText(csv, "country,indicator,answer,note\nX01,c11_child_helpline,oui,\n");
  auto ok_fr = Client({"import", "--db", db, csv}, Env("fr_FR.UTF-8"));
  CHECK(ok_fr.exit_code == 0);
  CHECK(ok_fr.out == "importation de 1 ligne : 1 réponse modifiée, 0 note modifiée, 0 inchangée\n");
  auto again_en = Client({"import", "--db", db, csv}, Env("C"));
  CHECK(again_en.out == "imported 1 row: 0 answers changed, 0 notes changed, 1 unchanged\n");
  auto cleared = Client({"answer", "--db", db, "X01", "c11_child_helpline", "clear"}, Env("fr_FR.UTF-8"));
  CHECK(cleared.out == "X01 c11_child_helpline: effacée\n");
}
