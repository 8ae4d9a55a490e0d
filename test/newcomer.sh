#!/usr/bin/env bash
# The first hour, as a newcomer lives it, from a fresh clone of this repository's HEAD with an
# empty environment (HOME and PATH only). The commands are the README's own, taken from the fenced
# blocks the README marks `<!-- newcomer: NAME -->`, never copied here:
#   terminal 1  `start`    npm install && npm start, to the ready block
#   terminal 2  `watch`    npx pam watch for the demo traveller
#   terminal 3  `example`  a campervan and a 15 % reading; pasted twice (safe to repeat)
#               `alerts`   the traveller's open alerts
# then checks what the README says follows: the alert on the watch within seconds, the index at
# / and /v1, `pam demo`'s way in, a backup and restore round trip on the embedded database, Ctrl-C
# and a restart the watch survives, two clones at once (ports given and taken: one message; not
# given: free ones picked), a failed start that leaves nothing (as root), and Node's warning.
# Prints the time from `git clone` to the first alert on screen, install included, with the load.
#   test/newcomer.sh                     (CI runs it from .ci/run; about 3-6 minutes, most of it npm install)
#   PAM_NEWCOMER_KEEP=1 test/newcomer.sh  keeps the clones and every terminal's log
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
# In the temp directory, readable by all: as root the embedded PostgreSQL runs as `postgres`,
# which must be able to enter the clone.
work="$(mktemp -d "${TMPDIR:-/tmp}/pam-newcomer-XXXXXX")"
chmod 755 "$work"
clone="$work/pam"
groups=()

say() { printf 'newcomer: %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  for log in "$work"/*.log; do
    [ -s "$log" ] && { say "last lines of $(basename "$log"):"; tail -n 15 "$log" | sed 's/^/  | /'; }
  done
  exit 1
}
# Whatever happens, nothing of this run stays behind: every process group it started, its folder.
cleanup() {
  for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done
  if [ -n "${PAM_NEWCOMER_KEEP:-}" ]; then say "kept $work (its logs: *.log)"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A marked block of the README, as written.
readme_block() {
  local block
  block="$(awk -v name="$1" '
    $0 == "<!-- newcomer: " name " -->" { marked = 1; next }
    marked && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$repo/README.md")"
  [ -n "$block" ] || fail "the README has no block marked <!-- newcomer: $1 -->"
  printf '%s\n' "$block"
}

newcomer_env=(env -i "HOME=$HOME" "PATH=$PATH")
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=8000
db_port=54329
start_block="$(readme_block start)"
watch_block="$(readme_block watch)"
example_block="$(readme_block example)"
alerts_block="$(readme_block alerts)"
# The README's commands as written, unless this machine already has something on PAM's default
# ports (other work beside CI): then one clone's ports are set, and only the port in them changes.
if ! free "$port" || ! free "$db_port"; then
  pick() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
  port="$(pick)" db_port="$(pick)"
  newcomer_env+=("PORT=$port" "EMBEDDED_DATABASE_PORT=$db_port")
  example_block="${example_block//localhost:8000/localhost:$port}"
  alerts_block="${alerts_block//localhost:8000/localhost:$port}"
  watch_block="$watch_block --url http://127.0.0.1:$port"
  say "8000 or 54329 is taken here: PORT=$port EMBEDDED_DATABASE_PORT=$db_port, and that port in the README's commands"
fi
base="http://127.0.0.1:$port"

# Runs a block in the background as a terminal would: a shell of its own, its own process group.
terminal() {
  local name="$1" block="$2"
  : >"$work/$name.log"
  setsid "${newcomer_env[@]}" bash -c "$block" >"$work/$name.log" 2>&1 &
  groups+=("$!")
  last_group=$!
}
# Waits (up to $3 s) for a log to show a pattern; fails naming `what` otherwise.
wait_for() {
  local log="$1" pattern="$2" limit="$3" what="$4"
  for _ in $(seq 1 $((limit * 4))); do
    grep -qE -- "$pattern" "$log" && return 0
    sleep 0.25
  done
  fail "$what (nothing matching '$pattern' within $limit s)"
}
count() { grep -cE -- "$2" "$1" || true; }
# Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. npm answers SIGINT
# with 130 whatever its script did, so PAM's own end is read from its log.
ctrl_c() {
  local group="$1" log="$2" status=0
  kill -INT -- "-$group"
  wait "$group" || status=$?
  [ "$status" = 0 ] || [ "$status" = 130 ] || fail "exit status $status after Ctrl-C"
  grep -q 'PAM stopped' "$log" || fail "PAM did not say it stopped after Ctrl-C"
  local noisy
  noisy="$(sed -n '/shutting down/,$p' "$log" | grep -E '"level":(40|50|60)|WARN|ERROR' || true)"
  [ -z "$noisy" ] || fail "warnings or errors while stopping: $noisy"
  ! pgrep -g "$group" >/dev/null || fail "still running after Ctrl-C: $(pgrep -a -g "$group")"
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- terminal 1: install and start ---------------------------------------------------------------
cloned_at="$(date +%s.%N)"
load_at_clone="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
say "cloning $repo (HEAD) into $clone"
git clone --quiet "$repo" "$clone"
cd "$clone"
terminal start "$start_block"
t1=$last_group
wait_for "$work/start.log" 'Ctrl-C stops PAM' 600 "npm install && npm start printed no ready block"
ready_after="$(elapsed "$cloned_at")"
say "terminal 1: ready ${ready_after} s after git clone (npm install included)"
grep -q "npx pam watch --user" "$work/start.log" || fail "the ready block names no pam watch line"

# --- terminal 2: watch; terminal 3: the example --------------------------------------------------
terminal watch "$watch_block"
watch_group=$last_group
wait_for "$work/watch.log" 'watching the alerts of' 60 "pam watch did not start"
sleep 1
"${newcomer_env[@]}" bash -c "$example_block" >"$work/example.log" 2>&1 || fail "the README's example failed"
wait_for "$work/watch.log" ' new +medium +fuel_low ' 30 "the example's alert did not appear in pam watch"
first_alert_after="$(elapsed "$cloned_at")"
say "terminal 2 shows the alert ${first_alert_after} s after git clone: $(grep -E ' fuel_low ' "$work/watch.log" | head -n 1)"
grep -q '"percent":15' "$work/example.log" || fail "the example did not print the stored reading"
# The README's next block runs in the same terminal, where the example's first line set TOKEN.
token_line="$(head -n 1 <<<"$example_block")"
"${newcomer_env[@]}" bash -c "$token_line"$'\n'"$alerts_block" >"$work/alerts.log" 2>&1 || fail "the alerts block failed"
grep -qE '^medium fuel_low: ' "$work/alerts.log" || fail "GET /v1/alerts did not list the fuel_low alert"
"${newcomer_env[@]}" bash -c "$example_block" >"$work/example-again.log" 2>&1 || fail "the example failed when pasted again"

# Pasted again (above, with the alert list after it): another campervan, another alert, no 422.
grep -q '"percent":15' "$work/example-again.log" || fail "the second paste stored no reading: $(cat "$work/example-again.log")"
for _ in $(seq 1 120); do [ "$(count "$work/watch.log" ' new +medium +fuel_low ')" -ge 2 ] && break; sleep 0.25; done
[ "$(count "$work/watch.log" ' new +medium +fuel_low ')" = 2 ] || fail "pam watch did not show exactly two fuel_low alerts after two pastes"
"${newcomer_env[@]}" bash -c "$token_line"$'\n'"$alerts_block" >"$work/alerts-again.log" 2>&1 || fail "the alerts block failed"
[ "$(count "$work/alerts-again.log" '^medium fuel_low: ')" = 2 ] || fail "two pastes did not leave two open fuel_low alerts"
say "the example pasted twice: two campervans, two alerts, each shown once"

# --- what the README says follows ------------------------------------------------------------------
for path in / /v1; do
  index="$(curl -s "$base$path")"
  grep -q '"service":"pam-api"' <<<"$index" && grep -q '"docs":"/docs"' <<<"$index" || fail "GET $path is no index: $index"
  browser="$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$base$path")"
  [ "$browser" = "302 $base/docs" ] || fail "a browser asking for $path got $browser, not the docs"
done
say "/ and /v1: an index for programs, the docs for a browser"

"${newcomer_env[@]}" npx pam demo --timeout 90 >"$work/demo.log" 2>&1 || fail "npx pam demo failed"
demo_curl="$(grep -oE 'curl -s http://[^ ]+/v1/alerts -H "Authorization: Bearer \$\(npx pam token --user [0-9a-f-]+\)"' "$work/demo.log" | head -n 1)"
[ -n "$demo_curl" ] || fail "pam demo printed no curl line for its traveller"
grep -qE 'npx pam watch --user [0-9a-f-]+' "$work/demo.log" || fail "pam demo printed no pam watch line"
demo_alerts="$("${newcomer_env[@]}" bash -c "$demo_curl")"
grep -q '"kind":"fuel_low"' <<<"$demo_alerts" || fail "pam demo's curl line did not list its alerts: $demo_alerts"
say "pam demo: its printed curl line lists the demo traveller's alerts"

TOKEN="$("${newcomer_env[@]}" npx pam token --user 7d3f6a9e-1c2b-4e5f-8a9b-0c1d2e3f4a5b)"
vehicles() { curl -s "$base/v1/vehicles" -H "Authorization: Bearer $TOKEN" | grep -o '"id":"[0-9a-f-]*"' | sort; }
before_backup="$(vehicles)"
"${newcomer_env[@]}" npx pam backup create --out "$work/first.backup.gz" >"$work/backup.log" 2>&1 || fail "pam backup create failed on the embedded database"
for id in $(grep -o '[0-9a-f-]\{36\}' <<<"$before_backup"); do
  curl -s -o /dev/null -X DELETE "$base/v1/vehicles/$id" -H "Authorization: Bearer $TOKEN"
done
[ -z "$(vehicles)" ] || fail "the vehicles were not deleted"
"${newcomer_env[@]}" npx pam backup restore "$work/first.backup.gz" >>"$work/backup.log" 2>&1 || fail "pam backup restore failed on the embedded database"
[ "$(vehicles)" = "$before_backup" ] || fail "the restore did not bring the vehicles back"
say "backup and restore on the embedded database, nothing else installed: $(grep -o 'backed up .*' "$work/backup.log")"

# --- Ctrl-C and a restart: the watch reconnects and shows what follows -----------------------------
ctrl_c "$t1" "$work/start.log"
wait_for "$work/watch.log" 'reconnecting in' 30 "pam watch did not notice PAM stopped"
terminal start-again "$start_block"
t1=$last_group
wait_for "$work/start-again.log" 'Ctrl-C stops PAM' 180 "the second start printed no ready block"
wait_for "$work/watch.log" 'connected; catching up' 60 "pam watch did not reconnect after the restart"
vehicle="$(vehicles | head -n 1 | grep -o '[0-9a-f-]\{36\}')"
curl -s -o /dev/null "$base/v1/vehicles/$vehicle/fuel-readings" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"percent":5}'
wait_for "$work/watch.log" ' new +high +fuel_low ' 30 "pam watch did not show the alert after the restart"
say "Ctrl-C stopped PAM cleanly; after the restart pam watch shows the next alert"

# --- two clones at once ----------------------------------------------------------------------------
second="$work/second"
git clone --quiet "$repo" "$second"
cp -al "$clone/node_modules" "$second/node_modules" # the same install, without fetching it again
cd "$second"
status=0
"${newcomer_env[@]}" "PORT=$port" "EMBEDDED_DATABASE_PORT=$db_port" npm start >"$work/second-given.log" 2>&1 || status=$?
[ "$status" != 0 ] || fail "a second clone started on the first one's ports"
grep -qE "in use.*PORT $port \\(the API\\).*EMBEDDED_DATABASE_PORT $db_port \\(the embedded PostgreSQL\\)" "$work/second-given.log" ||
  fail "the ports given and taken were not named in one message"
! grep -q 'connection lost' "$work/second-given.log" || fail "connection warnings while refusing to start"
[ ! -e "$second/.pam" ] || fail "the refused start left .pam behind"
say "second clone, ports given and taken: $(grep -o 'cannot start: .*' "$work/second-given.log" | cut -c1-140)…"
if [ "$port" = 8000 ]; then
  terminal second "npm start"
  wait_for "$work/second.log" 'Ctrl-C stops PAM' 180 "the second clone did not start on ports of its own"
  second_port="$(grep -oE 'the API uses [0-9]+' "$work/second.log" | grep -oE '[0-9]+$')"
  [ -n "$second_port" ] || fail "the second clone did not say which port it picked"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$second_port/ready")" = 200 ] || fail "the second clone is not ready on $second_port"
  say "second clone, no ports given: $(grep -oE 'port [0-9]+ is taken[^,;]*' "$work/second.log" | paste -sd ';')"
  ctrl_c "$last_group" "$work/second.log"
fi

# --- a failed start leaves nothing (as root: a clone `postgres` cannot enter) -----------------------
if [ "$(id -u)" = 0 ]; then
  mkdir -m 700 "$work/private"
  git clone --quiet "$repo" "$work/private/pam"
  cp -al "$clone/node_modules" "$work/private/pam/node_modules"
  cd "$work/private/pam"
  status=0
  "${newcomer_env[@]}" "PORT=$(node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})')" npm start >"$work/private.log" 2>&1 || status=$?
  [ "$status" != 0 ] || fail "a start in a folder postgres cannot enter succeeded"
  grep -q "cannot enter $work/private" "$work/private.log" || fail "the failed start did not name the folder"
  [ ! -e .pam ] || fail "the failed start left $(ls -A .pam | paste -sd ' ') behind"
  say "a failed start (as root, in a folder postgres cannot enter) named it and left nothing"
else
  say "a failed start as root: not replayed, this runs as $(id -un)"
fi

# --- Node older than engines: one warning, naming Node 22 -----------------------------------------
cd "$clone"
old_node=/usr/bin/node
if [ -x "$old_node" ] && [ "$("$old_node" -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
  warnings="$("$old_node" bin/pam.js --help 2>&1 >/dev/null | grep -c 'needs Node 22' || true)"
  [ "$warnings" = 1 ] || fail "pam --help on Node $("$old_node" --version) warned $warnings times"
  say "on Node $("$old_node" --version), --help warns once, naming Node 22"
fi

ctrl_c "$t1" "$work/start-again.log"
kill -INT -- "-$watch_group" 2>/dev/null || true
wait "$watch_group" 2>/dev/null || true

say "ok: git clone → ready ${ready_after} s, → first alert on screen ${first_alert_after} s (npm install included; Node $(node --version), $(nproc 2>/dev/null || echo '?') CPUs, load average at clone $load_at_clone, now $(cut -d' ' -f1-3 /proc/loadavg), $(id -un))"
