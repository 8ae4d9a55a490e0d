#!/usr/bin/env bash
# The first hour, as a newcomer lives it: a fresh clone of this repository's HEAD, `npm ci` and
# `npm start` with an empty environment, the token line `pam start` prints, a vehicle and a 15 %
# fuel reading as the README shows, the alert on the WebSocket within a second, Ctrl-C to the
# process group, exit 0, nothing left running, and the data there on the next start.
# Prints the first and second start-to-ready times with their conditions. Exit 0 when all holds.
#   test/newcomer.sh            (CI runs it from .ci/run)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
# In the temp directory, readable by all: as root the embedded PostgreSQL runs as `postgres`,
# which must be able to enter the clone.
work="$(mktemp -d "${TMPDIR:-/tmp}/pam-newcomer-XXXXXX")"
chmod 755 "$work"
clone="$work/pam"
log="$work/start.log"
group=""

say() { printf 'newcomer: %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  [ -f "$log" ] && { say "last lines of pam start:"; tail -n 30 "$log" | sed 's/^/  | /'; }
  exit 1
}
# Whatever happens, nothing of this run stays behind.
cleanup() {
  [ -n "$group" ] && kill -KILL -- "-$group" 2>/dev/null || true
  pkill -KILL -f "$clone/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The newcomer's environment: nothing but HOME and PATH. PAM's default ports, unless something
# on this machine already holds them (then the ports are the only variables set, and said so).
newcomer_env=(env -i "HOME=$HOME" "PATH=$PATH")
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=8000
if ! free "$port" || ! free 54329; then
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  pg_port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  newcomer_env+=("PORT=$port" "EMBEDDED_DATABASE_PORT=$pg_port")
  say "port 8000 or 54329 is taken here: using PORT=$port EMBEDDED_DATABASE_PORT=$pg_port"
fi
base="http://127.0.0.1:$port"

say "cloning $repo (HEAD) into $clone"
git clone --quiet "$repo" "$clone"
cd "$clone"
say "npm ci"
"${newcomer_env[@]}" npm ci --no-audit --no-fund --loglevel=error >"$work/npm-ci.log" 2>&1 || {
  tail -n 20 "$work/npm-ci.log"
  fail "npm ci"
}

# `npm start` in a process group of its own, as a terminal would run it; returns once /ready
# has turned 200 and the "where to go next" block is printed, setting $ready_seconds.
start() {
  : >"$log"
  local started=$SECONDS
  setsid "${newcomer_env[@]}" npm start >"$log" 2>&1 &
  group=$!
  for _ in $(seq 1 600); do
    grep -q 'Ctrl-C stops PAM' "$log" && break
    kill -0 "$group" 2>/dev/null || fail "npm start exited before it was ready"
    sleep 0.5
  done
  grep -q 'Ctrl-C stops PAM' "$log" || fail "npm start printed no ready block within 300 s"
  ready_seconds=$((SECONDS - started))
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/ready")" = 200 ] || fail "/ready is not 200 after the ready block"
}

# Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. npm itself
# answers SIGINT with status 130 whatever its script did, so PAM's own end is read from its log:
# it must say it stopped, with no warning or error once shutdown began.
stop() {
  kill -INT -- "-$group"
  local status=0
  wait "$group" || status=$?
  [ "$status" = 0 ] || [ "$status" = 130 ] || fail "npm start exited with status $status after Ctrl-C"
  grep -qE '"msg":"stopped"|PAM stopped' "$log" || fail "PAM did not say it stopped after Ctrl-C"
  local noisy
  noisy="$(sed -n '/shutting down/,$p' "$log" | grep -E '"level":(40|50|60)' || true)"
  [ -z "$noisy" ] || fail "warnings or errors while stopping: $noisy"
  local left
  left="$(pgrep -a -g "$group" 2>/dev/null; pgrep -a -f "$clone/" 2>/dev/null || true)"
  [ -z "$left" ] || fail "still running after Ctrl-C: $left"
  group=""
}

# The token line exactly as `pam start` printed it.
token() {
  local line
  line="$(grep -o 'TOKEN=$(npm run -s pam -- token --user [0-9a-f-]*)' "$log" | head -n 1)"
  [ -n "$line" ] || fail "pam start printed no token line"
  eval "$("${newcomer_env[@]}" bash -c "$line; printf 'TOKEN=%q' \"\$TOKEN\"")"
  [ -n "$TOKEN" ] || fail "the printed token line gave no token"
}

start
first_ready=$ready_seconds
say "first start ready in ${first_ready} s (a fresh .pam/: initdb, migrations)"
token

# The README's vehicle and 15 % reading; the alert must reach the open stream within a second.
TOKEN="$TOKEN" BASE="$base" node --input-type=module -e '
import { createRequire } from "node:module"
const WebSocket = createRequire(`${process.cwd()}/package.json`)("ws")
const { TOKEN, BASE } = process.env
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }
const post = async (path, body, headers = {}) => {
  const response = await fetch(BASE + path, { method: "POST", headers: { ...auth, ...headers }, body: JSON.stringify(body) })
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`)
  return response.json()
}
const vehicle = await post("/v1/vehicles", { name: "Campervan", fuelCapacityL: 80, consumptionLPer100Km: 12.5, odometerKm: 52000 })
const socket = new WebSocket(BASE.replace("http", "ws") + "/v1/stream", { headers: { authorization: `Bearer ${TOKEN}` } })
const messages = []
const next = (test) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no such message within 10 s; got " + JSON.stringify(messages))), 10_000)
  const check = () => { const found = messages.find(test); if (found) { clearTimeout(timer); resolve(found) } }
  socket.on("message", (data) => { messages.push(JSON.parse(String(data))); check() })
  check()
})
await next((m) => m.type === "hello")
const sent = performance.now()
await post(`/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15, lat: 38.57, lon: -109.55 }, { "idempotency-key": "first-reading" })
const alert = await next((m) => m.type === "alert.created" && m.alert.kind === "fuel_low")
const ms = Math.round(performance.now() - sent)
socket.close()
console.log(`newcomer: alert "${alert.alert.title}" on the stream ${ms} ms after the reading`)
if (ms > 1000) { console.log("newcomer: FAILED: the alert took more than a second"); process.exit(1) }
' || fail "the first reading did not bring its alert on the stream within a second"

stop
say "Ctrl-C: PAM stopped cleanly, nothing left running"

start
second_ready=$ready_seconds
token
vehicles="$(curl -s "$base/v1/vehicles" -H "Authorization: Bearer $TOKEN")"
grep -q '"name":"Campervan"' <<<"$vehicles" || fail "the vehicle is gone after a restart: $vehicles"
say "second start ready in ${second_ready} s; the vehicle is still there"
stop

load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
say "ok: first start ${first_ready} s, second start ${second_ready} s to ready (Node $(node --version), $(nproc 2>/dev/null || echo '?') CPUs, load average $load, $(id -un))"
