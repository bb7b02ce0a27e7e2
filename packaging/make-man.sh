#!/bin/sh
# Writes the gzipped man page of a program, or of one of its commands, from the program's own --help
# (help2man), so the page cannot drift from what the binary says.
#   make-man.sh BINARY VERSION OUT.1.gz SUMMARY            the page of BINARY (mnr-client.1)
#   make-man.sh BINARY VERSION OUT.1.gz SUMMARY COMMAND    the page of `BINARY COMMAND` (mnr-client-sync.1)
# An empty SUMMARY takes the command's line of `BINARY --help`, else the first line of its own --help.
set -eu
bin=$1 version=$2 out=$3 summary=$4 command=${5:-}
program=$(basename "$bin")
# The English text, whatever the builder's locale.
export LANGUAGE=en LC_ALL=C.UTF-8
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# help2man names the page after the program it runs: a wrapper called mnr-client-sync.
name=$program${command:+-$command}
printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$command" >"$work/$name"
chmod +x "$work/$name"
if [ -z "$summary" ]; then
  summary=$("$bin" --help 2>&1 | sed -n -E "s/^  $command( [a-z]+)? {2,}//p" | head -n 1)
fi
if [ -z "$summary" ]; then
  # The first sentence of the description under the usage line of the command's own --help.
  summary=$("$bin" "$command" --help 2>&1 | awk 'NR > 1 && /^$/ { if (text != "") exit; started = 1; next }
    started { text = text (text == "" ? "" : " ") $0 } END { print text }' | sed -E 's/([.:]) .*/\1/')
fi
# help2man takes the text after the program name in NAME as is; a trailing full stop reads badly there.
summary=$(printf '%s' "$summary" | sed -E 's/[.:]$//')
help2man --no-info --no-discard-stderr --version-string="$version" --name="$summary" \
  --section=1 --source="mnr-sync $version" --manual="mnr-sync" --output="$work/$name.1" "$work/$name"
gzip -9n <"$work/$name.1" >"$out"
