#!/usr/bin/env bash
# The main job, end to end on one machine: the synthetic 42-country sample is recorded offline in 42
# field-office stores (CSV import and good-practice entries), each store syncs to a real mnr-server over
# mutual TLS on loopback, and the server merges and aggregates. Prints the aggregate summary, then
# freezes a signed release and publishes the static report into BUILD_DIR/demo-report.
# Usage: tools/demo.sh [BUILD_DIR]   (default build/; leaves nothing behind)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
srv="$build/server/mnr-server"
cli="$build/client/mnr-client"
[ -x "$srv" ] && [ -x "$cli" ] || { echo "demo: build first (cmake --build $build)" >&2; exit 1; }
work=$(mktemp -d /tmp/mnr-demo-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$srv" init --data "$work/server" --address "127.0.0.1:$port" >/dev/null
"$srv" countries import --data "$work/server" sample/countries.csv >/dev/null
"$srv" run --data "$work/server" --listen "127.0.0.1:$port" 2>"$work/server.log" &
server_pid=$!

codes=$(tail -n +2 sample/countries.csv | cut -d, -f1)
n=0
for c in $codes; do
  n=$((n + 1))
  printf '\rrecording and syncing country %s (%d of 42)' "$c" "$n" >&2
  "$srv" issue --data "$work/server" --role field --country "$c" --name "$c field office" --out "$work/$c.mnrcred" >/dev/null
  "$cli" init --db "$work/$c.db" --credentials "$work/$c.mnrcred" >/dev/null
  # The office records its own answers offline: the rows of its country, as it would type or import them.
  python3 - "$c" sample/answers.csv "$work/$c.csv" <<'PY'
import csv, sys
code, src, dst = sys.argv[1:]
with open(src, newline='', encoding='utf-8') as f, open(dst, 'w', newline='', encoding='utf-8') as out:
    r = csv.reader(f); w = csv.writer(out, lineterminator='\n')
    header = next(r); w.writerow(header)
    for row in r:
        if row[0] == code: w.writerow(row)
PY
  "$cli" import --db "$work/$c.db" "$work/$c.csv" >/dev/null
  python3 - "$c" sample/practices.csv <<'PY' | while IFS= read -r -d '' args; do eval "\"$cli\" practice add --db \"$work/$c.db\" $args" >/dev/null; done
import csv, shlex, sys
code, src = sys.argv[1:]
for row in csv.DictReader(open(src, newline='', encoding='utf-8')):
    if row['country'] != code: continue
    a = ['--country', code, '--capability', row['capability'], '--kind', row['kind'],
         '--title', row['title'], '--text', row['text'], '--lang', row['lang']]
    sys.stdout.write(' '.join(shlex.quote(x) for x in a) + '\0')
PY
  # The office hands its survey in for review; the submission travels with the sync.
  "$cli" submit --db "$work/$c.db" --allow-incomplete >/dev/null
  "$cli" sync --db "$work/$c.db" --server "127.0.0.1:$port" --quiet
done
printf '\r%60s\r' '' >&2

echo "mnr-sync demo: 42 field stores synced to one server over mutual TLS"
echo "server state hash: $("$srv" state hash --data "$work/server")"
echo
"$srv" aggregate --data "$work/server" --format csv >"$work/aggregate.csv"
python3 - "$work/aggregate.csv" schemas/mnr-survey-v1.json <<'PY'
import csv, json, sys
rows = {(r['indicator'], r['group']): r for r in csv.DictReader(open(sys.argv[1], encoding='utf-8'))}
schema = json.load(open(sys.argv[2], encoding='utf-8'))
print(f"{'indicator':<40} {'all':>16} {'high income':>16} {'low/middle':>16}")
for ind in schema['indicators']:
    cells = []
    for g in ('all', 'high', 'lmic'):
        r = rows.get((ind['id'], g))
        n, d = (int(r['n_yes']), int(r['n_responding'])) if r else (0, 0)
        cells.append(f"{int(100*n/d + 0.5) if d else 0:>3} % ({n:>2} of {d:>2})")
    print(f"{ind['id']:<40} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")
PY
echo
echo "server log: $(grep -c ' sync ' "$work/server.log") syncs, $(grep -c 'result=ok' "$work/server.log") ok"
# Freeze the dataset as a signed release and publish the report beside the build (kept after the demo).
report="$(cd "$build" && pwd)/demo-report"
# The coordinator reviews every submitted survey; a release waits until all are approved.
for c in $codes; do
  "$srv" review approve --data "$work/server" "$c" --by "demo coordinator" >/dev/null
done
"$srv" status --data "$work/server" | tail -1
"$srv" release --data "$work/server" --label demo >/dev/null
"$srv" publish --data "$work/server" --release demo --out "$report" >/dev/null
echo "release 'demo' published: file://$report/index.html"
