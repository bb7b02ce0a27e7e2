#!/usr/bin/env bash
# The package test of issue 13: builds the mnr-client and mnr-server .deb files with cpack, installs
# both into a fresh root, and uses them there as an operator would: --version, init, the service binary
# on loopback, a client sync, a backup taken while a sync runs, a restore into a new directory, and
# state hashes compared. Then lintian must report no error on either package.
#
#   tests/packaging/package_test.sh BUILD_DIR SOURCE_DIR
#
# The root is made with `dpkg --root` (no debootstrap here): --force-script-chrootless runs the
# maintainer scripts on this host with DPKG_ROOT set (packaging/postinst then makes the mnr user and
# /var/lib/mnr inside the root), and --force-depends because the root has no libc: the installed
# binaries run from the root with this host's libraries, which are what their computed Depends name.
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mnr-package-test.XXXXXX")
server_pid=
sync_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "$sync_pid" ] && kill "$sync_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

step "cpack: building the packages"
cpack --config "$build/CPackConfig.cmake" -B "$work/cpack" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack"; }
client_deb=$(ls "$work"/cpack/mnr-client_*.deb)
server_deb=$(ls "$work"/cpack/mnr-server_*.deb)
for deb in "$client_deb" "$server_deb"; do
  echo "$(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
  dpkg-deb -f "$deb" Depends | grep -q libc6 || fail "$deb: no computed Depends"
done

step "dpkg --root: installing both into a fresh root"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info" "$root/etc"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null -i "$client_deb" "$server_deb" \
  >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
for f in usr/bin/mnr-client usr/bin/mnr-server usr/bin/mnr-audit usr/share/man/man1/mnr-client-sync.1.gz \
         usr/share/man/man1/mnr-server-backup.1.gz usr/share/bash-completion/completions/mnr-server \
         usr/share/locale/fr/LC_MESSAGES/mnr-client.mo usr/lib/systemd/system/mnr-server.service \
         usr/share/doc/mnr-server/copyright etc/mnr-sync/server.toml; do
  [ -e "$root/$f" ] || fail "not installed: /$f"
done
dpkg-deb --info "$server_deb" conffiles | grep -qx /etc/mnr-sync/server.toml || fail "server.toml is not a conffile"
grep -q '^mnr:' "$root/etc/passwd" || fail "postinst made no mnr user in the root"
[ -d "$root/var/lib/mnr" ] || fail "postinst made no /var/lib/mnr in the root"
[ "$(stat -c %a "$root/var/lib/mnr")" = 700 ] || fail "/var/lib/mnr is not 0700"
# The installed unit's hardening, as systemd rates it: "OK" or better.
exposure=$(systemd-analyze security --offline=yes --root="$root" mnr-server.service 2>&1 | grep 'Overall exposure level')
echo "$exposure"
[[ $exposure =~ (PERFECT|SAFE|OK) ]] || fail "the unit's exposure is worse than OK"
client="$root/usr/bin/mnr-client"
server="$root/usr/bin/mnr-server"

step "--version"
for bin in "$client" "$server" "$root/usr/bin/mnr-audit"; do
  line=$("$bin" --version)
  echo "$line"
  [[ $line == "$(basename "$bin") "*" (survey schema v"*", protocol "*", oldest protocol "*")" ]] || fail "$bin --version: $line"
done

step "init, countries, a credential for the 42 sample countries"
data="$work/srv"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" init --data "$data" --address "127.0.0.1:$port" >/dev/null
"$server" countries import --data "$data" "$source_dir/sample/countries.csv" >/dev/null
countries=()
for c in $(tail -n +2 "$source_dir/sample/countries.csv" | cut -d, -f1); do countries+=(--country "$c"); done
"$server" issue --data "$data" --role field --name "sample office" "${countries[@]}" --out "$work/office.mnrcred" >/dev/null
"$client" init --db "$work/office.db" --credentials "$work/office.mnrcred" >/dev/null
"$client" import --db "$work/office.db" "$source_dir/sample/answers.csv" >/dev/null
empty_hash=$("$server" state hash --data "$data")

step "the service binary on loopback, one sync with a backup taken during it"
"$server" run --data "$data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
"$client" sync --db "$work/office.db" --retries 0 >"$work/sync.log" 2>&1 &
sync_pid=$!
"$server" backup --data "$data" --out "$work/during.mnrbak" >/dev/null
sync_running=no
kill -0 "$sync_pid" 2>/dev/null && sync_running=yes
wait "$sync_pid" || { cat "$work/sync.log" "$work/server.log"; fail "sync"; }
sync_pid=
echo "sync still running when the backup finished: $sync_running"
synced_hash=$("$server" state hash --data "$data")
[ "$synced_hash" != "$empty_hash" ] || fail "the sync merged nothing"
"$server" backup --data "$data" --out "$work/after.mnrbak" >/dev/null
kill "$server_pid"
wait "$server_pid" || true
server_pid=

step "restore into new directories, state hashes compared"
"$server" restore --from "$work/during.mnrbak" --data "$work/restored-during" >/dev/null
"$server" restore --from "$work/after.mnrbak" --data "$work/restored-after" >/dev/null
during_hash=$("$server" state hash --data "$work/restored-during")
after_hash=$("$server" state hash --data "$work/restored-after")
echo "live $synced_hash"
echo "backup after the sync $after_hash"
echo "backup during the sync $during_hash"
[ "$after_hash" = "$synced_hash" ] || fail "the restored store's state differs from the live one"
# A backup is one consistent snapshot: some of the sync's change-sets, never part of one. Its state is
# that of a prefix of the sync, so `check` finds it whole.
"$server" check --data "$work/restored-during" >"$work/check.log" 2>&1 || [ $? -eq 1 ] || { cat "$work/check.log"; fail "check of the backup taken during the sync"; }

step "lintian"
lintian --tag-display-limit 0 "$client_deb" "$server_deb" >"$work/lintian.log" 2>&1 || true
cat "$work/lintian.log"
if grep -q '^E: ' "$work/lintian.log"; then fail "lintian reports errors"; fi
echo "lintian: $(grep -c '^W: ' "$work/lintian.log" || true) warnings, no errors"
