#!/usr/bin/env bash
# Bash completion and the command lists behind it and the man pages (packaging/CMakeLists.txt):
# every listed command answers --help, every command a program's overview names is listed, and the
# generated completion completes commands and a command's options.
#
#   tests/packaging/completion_test.sh BUILD_DIR PROGRAM BINARY COMMAND...
set -euo pipefail
build=$1 program=$2 binary=$3
shift 3
commands=("$@")
export LANGUAGE=en
fail() { echo "FAILED: $*" >&2; exit 1; }

for c in "${commands[@]}"; do
  "$binary" "$c" --help >/dev/null 2>&1 || fail "$program $c --help exits $?"
done
# The overview lists commands as "  name  summary" lines.
for c in $("$binary" --help | sed -n -E 's/^  ([a-z][a-z-]+)( [a-z]+)? {2,}.*/\1/p'); do
  [[ " ${commands[*]} " == *" $c "* ]] || fail "$program --help names \"$c\", which packaging/CMakeLists.txt does not list"
done

# Completes as bash would: COMP_WORDS and COMP_CWORD set, the function called, COMPREPLY read.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));
           fn=$(complete -p "$(basename "$1")" | sed -E "s/.*-F ([^ ]+).*/\1/"); "$fn"; echo "${COMPREPLY[*]}"' \
    _ "$build/completion/$program" "$@"
}
first=${commands[0]}
got=$(complete_words "$binary" "${first:0:2}")
[[ " $got " == *" $first "* ]] || fail "\"$program ${first:0:2}<TAB>\" offers \"$got\", not $first"
got=$(complete_words "$binary" "")
for c in "${commands[@]}"; do
  [[ " $got " == *" $c "* ]] || fail "\"$program <TAB>\" does not offer $c"
done
got=$(complete_words "$binary" "$first" "--h")
[[ " $got " == *" --help "* ]] || fail "\"$program $first --h<TAB>\" offers \"$got\", not --help"
echo "$program: ${#commands[@]} commands complete; options of \"$first\": $(complete_words "$binary" "$first" "--")"
