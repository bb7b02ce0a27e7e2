#!/bin/sh
# Fails when a message of mnr-client could reach a French user untranslated: the template is not the
# one the sources give (a message added or changed without `cmake --build BUILD --target mnr-client-pot`),
# or fr.po misses a message, has an untranslated or fuzzy one, or does not compile (msgfmt --check).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh po/extract.sh "$tmp/fresh.pot"
if ! diff -u po/mnr-client.pot "$tmp/fresh.pot" > "$tmp/diff"; then
  cat "$tmp/diff"
  echo "po/mnr-client.pot is out of date with the sources: run cmake --build BUILD --target mnr-client-pot, then translate po/fr.po" >&2
  exit 1
fi
status=0
for po in po/*.po; do
  if ! msgcmp --use-untranslated "$po" po/mnr-client.pot; then
    echo "$po lacks messages of po/mnr-client.pot" >&2
    status=1
  fi
  stats=$(msgfmt --check --statistics -o /dev/null "$po" 2>&1) || { echo "$stats" >&2; exit 1; }
  echo "$po: $stats"
  case "$stats" in
    *untranslated*|*fuzzy*) echo "$po has untranslated or fuzzy messages" >&2; status=1 ;;
  esac
done
exit $status
