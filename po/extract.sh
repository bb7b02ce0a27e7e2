#!/bin/sh
# The one definition of which sources hold mnr-client's messages and how they are marked:
#   tr("...")                   mnr::tr (mnr/i18n.h)
#   trn("one", "many", n)       plural forms
#   tr_if(translate, "...")     shown translated, stored in English
#   .Option(name, META, "help") .Flag(name, "help") .Positional(name, "help") .Epilog("text"):
#                               cli::Parser translates these when it prints --help
# Usage (from the source root):
#   po/extract.sh OUT.pot     write the template to OUT.pot
#   po/extract.sh --update    rewrite po/mnr-client.pot and merge it into po/*.po (then translate
#                             what msgfmt --statistics reports as untranslated or fuzzy)
set -eu
cd "$(dirname "$0")/.."
extract() {
  # File names only, no line numbers: moving code must not change the template.
  xgettext --from-code=UTF-8 --language=C++ --add-comments=TRANSLATORS: --add-location=file \
    --sort-by-file --package-name=mnr-client --msgid-bugs-address=mnr-sync \
    --keyword=tr --keyword=trn:1,2 --keyword=tr_if:2 --keyword=Option:3 --keyword=Flag:2 --keyword=Positional:2 \
    --keyword=Epilog:1 -o "$1" $(ls client/*.cc | LC_ALL=C sort) shared/src/cli.cc
  # The creation date would make every extraction differ.
  sed -i '/^"POT-Creation-Date:/d' "$1"
}
if [ "${1:-}" = "--update" ]; then
  extract po/mnr-client.pot
  for po in po/*.po; do
    msgmerge --quiet --update --backup=none --add-location=file "$po" po/mnr-client.pot
  done
else
  extract "$1"
fi
