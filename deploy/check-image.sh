#!/usr/bin/env bash
# Builds PAM's image and runs it the way a platform does, then checks what an operator relies on:
# it runs as a non-root user and carries no dev dependencies, tests, sources or .pam/ data; each
# role (api, worker, scheduler) starts; /ready answers 200 with PostgreSQL and Redis; the
# HEALTHCHECK passes, for each role on its own port only; `pam backup create` works in the image
# (no client tools in it); SIGTERM stops every role with exit 0 and no deprecation warning was printed.
# Prints the image's size, its build time and its start-to-ready time.
#
#   deploy/check-image.sh          # as root, with podman (installed from Debian's packages if missing)
#   PAM_IMAGE=localhost/pam:dev PAM_KEEP_IMAGE=1 deploy/check-image.sh   # keep the image afterwards
#   PAM_IMAGE=localhost/pam:dev PAM_REUSE_IMAGE=1 deploy/check-image.sh  # check it again, unbuilt
#
# The containers use host networking and the PostgreSQL and Redis this machine serves on
# 127.0.0.1 (TEST_DATABASE_URL / TEST_REDIS_URL, as the tests do), as a platform's managed stores are
# reached by URL: a database and a Redis key prefix of their own, removed afterwards. Base images are
# pulled; where a registry cannot be reached (no Docker Hub here or in CI), local stand-ins are made
# with ../shared/container/stand-in-images.sh (else its copy in deploy/stand-ins/, or PAM_STANDIN_SCRIPT). If neither works the check
# fails: an image nobody built is the problem this check exists for, so it never skips quietly.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'check-image: %s\n' "$*"; }
die() { printf 'check-image: FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

database_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
# The shared stand-in script where the team's shared/ sits beside the clone, else the copy kept in
# deploy/stand-ins/ (a CI clone elsewhere has no ../shared).
standin_script=${PAM_STANDIN_SCRIPT:-$PWD/../shared/container/stand-in-images.sh}
[ -f "$standin_script" ] || standin_script=$PWD/deploy/stand-ins/stand-in-images.sh
image=${PAM_IMAGE:-localhost/pam-check:$$}
run_id=pam_image_check_$$
containers=()
log=$(mktemp)

# --- podman ----------------------------------------------------------------------------------
if ! command -v podman >/dev/null; then
  if [ -f "$standin_script" ]; then
    : # the stand-in script installs it, with the engine settings this sandbox needs
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing podman from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah >/dev/null
  else
    die "podman is not installed and cannot be installed here (needs root and apt-get)"
  fi
fi

# --- base images: pulled, else stand-ins --------------------------------------------------------
bases=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile | sort -u)
for base in $bases; do
  qualified=docker.io/library/$base
  if command -v podman >/dev/null && podman image exists "$qualified"; then continue; fi
  if command -v podman >/dev/null && podman pull -q "$qualified" >/dev/null 2>&1; then
    say "pulled $base"
    continue
  fi
  [ -f "$standin_script" ] ||
    die "cannot pull $base and no stand-in script at $standin_script (set PAM_STANDIN_SCRIPT)"
  suite=${base##*:} suite=${suite#*-} suite=${suite%-slim}
  say "cannot pull $base: making a local stand-in ($standin_script, Debian $suite)"
  # With the compose file's PostgreSQL, so that `docker compose` runs here too.
  pg_major=$(sed -n 's/^ *image: postgres:\([0-9]*\).*/\1/p' docker-compose.yml)
  script=$standin_script work=${PAM_STANDIN_WORK:-/var/tmp/pam-standins}
  if [ "$suite" != bookworm ] && ! grep -q PAM_STANDIN_SUITE "$standin_script"; then
    # The stand-in script makes Debian bookworm images only: run a copy that names our suite in
    # its place, finds its entrypoint files where the original is, and keeps its root apart.
    script=$(mktemp) work=$work-$suite
    sed -e "s/bookworm/$suite/g" -e "s#^here=.*#here=$(cd "$(dirname "$standin_script")" && pwd)#" \
      "$standin_script" >"$script"
  fi
  PAM_STANDIN_WORK=$work PAM_STANDIN_SUITE=$suite PAM_STANDIN_PG_MAJOR=${pg_major:-17} bash "$script" >/dev/null
  [ "$script" = "$standin_script" ] || rm -f "$script"
  podman image exists "$qualified" || die "the stand-in script did not make $base"
done

# --- clean-up, whatever happens ------------------------------------------------------------------
psql_admin() { psql "$database_url" -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() {
  rm -f "$log"
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  [ -n "${PAM_KEEP_IMAGE:-}" ] || podman rmi -f "$image" >/dev/null 2>&1 || true
  psql_admin -c "DROP DATABASE IF EXISTS $run_id WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -u "$redis_url" --scan --pattern "$run_id:*" 2>/dev/null | xargs -r redis-cli -u "$redis_url" DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- build -----------------------------------------------------------------------------------------
say "building (podman build --format docker: the OCI format would drop HEALTHCHECK)"
started=$(now)
if [ -n "${PAM_REUSE_IMAGE:-}" ] && podman image exists "$image"; then
  say "reusing $image (PAM_REUSE_IMAGE): not rebuilt"
else
  # --layers=false: no cached intermediate images are left behind on the machine.
  podman build --format docker --layers=false --network host -t "$image" . >"$log" 2>&1 ||
    die "podman build failed: $(tail -n 20 "$log")"
fi
build_seconds=$(since "$started")
size_bytes=$(podman image inspect -f '{{.Size}}' "$image")
size_mb=$(awk -v b="$size_bytes" 'BEGIN { printf "%.0f", b / 1000 / 1000 }')
say "built in ${build_seconds} s, ${size_mb} MB"

# --- what the image is made of ----------------------------------------------------------------------
[ "$(podman image inspect -f '{{.Config.Healthcheck.Test}}' "$image")" != "[]" ] || die "the image has no HEALTHCHECK"
in_image() { podman run --rm --network none --no-healthcheck "$image" "$@"; }
uid=$(in_image id -u)
[ "$uid" != 0 ] || die "the image runs as root"
# What `npm prune --omit=dev` should have removed: the lockfile's dev-only packages, and those only dev
# or optional (typescript, an optional peer of a production package, survives the prune otherwise).
dev_only=$(node -e '
  const { packages } = require("./package-lock.json")
  for (const [path, entry] of Object.entries(packages)) if (path && (entry.dev || entry.devOptional)) console.log(path)')
# shellcheck disable=SC2016 # expanded inside the container
leftovers=$(podman run --rm --network none --no-healthcheck -e "DEV_ONLY=$dev_only" "$image" sh -c '
  cd /app
  for path in test src bench docs .pam .env .git tsconfig.json $DEV_ONLY; do [ -e "$path" ] && echo "/app/$path"; done
  find /app -path /app/node_modules -prune -o -name "*.test.*" -print | head -n 3
  find node_modules -mindepth 1 -maxdepth 2 -type d -empty | head -n 5
')
[ -z "$leftovers" ] || die "the image carries what production does not need: $(echo "$leftovers" | tr '\n' ' ')"
say "runs as uid $uid; no dev dependencies, tests, sources or .pam/"

# --- run every role ------------------------------------------------------------------------------
psql_admin -c "CREATE DATABASE $run_id" >/dev/null
pam_database_url="${database_url%/*}/$run_id"
secret() { head -c 36 /dev/urandom | base64 | tr -d '/+='; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
api_port=$(free_port) worker_port=$(free_port) scheduler_port=$(free_port)
common=(--network host -e "DATABASE_URL=$pam_database_url" -e "REDIS_URL=$redis_url" -e "REDIS_PREFIX=$run_id"
  -e "JWT_SECRET=$(secret)" -e "INTERNAL_TOKEN=$(secret)" -e CORS_ORIGINS=https://app.example -e HOST=127.0.0.1)

podman run --rm --no-healthcheck "${common[@]}" "$image" node bin/pam.js migrate up >"$log" 2>&1 ||
  die "migrate up failed: $(tail -n 5 "$log")"

start_role() { # role port-variable port
  local name=$run_id-$1
  containers+=("$name")
  # podman starts a HEALTHCHECK's timer through systemd, absent here (and podman 4.3 ignores
  # --health-interval disable): the check is run below with `podman healthcheck run`, and podman's
  # complaint is dropped.
  podman run -d --name "$name" "${common[@]}" -e "$2=$3" "$image" node bin/pam.js "$1" 2>&1 >/dev/null |
    { grep -v 'systemd connection' >&2 || true; }
}
started=$(now)
start_role api PORT "$api_port"
start_role worker METRICS_PORT "$worker_port"
start_role scheduler METRICS_PORT "$scheduler_port"
ready=""
for _ in $(seq 1 240); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/ready")" = 200 ]; then ready=yes; break; fi
  sleep 0.5
done
[ -n "$ready" ] || die "/ready never answered 200: $(curl -s "http://127.0.0.1:$api_port/ready"); $(podman logs --tail 5 "$run_id-api" 2>&1)"
ready_seconds=$(since "$started")
say "/ready 200 ${ready_seconds} s after the three roles were started: $(curl -s "http://127.0.0.1:$api_port/ready" | head -c 200)"

# --- health checks: each role on its own port -------------------------------------------------------
for role in api worker scheduler; do
  podman healthcheck run "$run_id-$role" >/dev/null || die "the HEALTHCHECK of the $role fails: $(podman exec "$run_id-$role" node bin/healthcheck.js 2>&1)"
done
# Host networking shares one namespace, as a pod or a Fly machine does: a worker pointed at the API's
# port must not pass because the API answers there.
if podman exec -e "METRICS_PORT=$api_port" "$run_id-worker" node bin/healthcheck.js >/dev/null 2>&1; then
  die "a worker's health check passed on the API's port"
fi
say "HEALTHCHECK passes for api, worker and scheduler, and a worker's fails on the API's port"

# --- backup and restore in the image (PAM's own COPY: no client tools) -------------------------------
podman exec "$run_id-api" node bin/pam.js backup create --out /tmp/check.backup.gz >"$log" 2>&1 ||
  die "pam backup create failed: $(tail -n 3 "$log")"
dump_bytes=$(podman exec "$run_id-api" stat -c %s /tmp/check.backup.gz)
[ "$dump_bytes" -gt 0 ] || die "pam backup create left an empty backup"
podman exec "$run_id-api" node bin/pam.js backup restore /tmp/check.backup.gz >"$log" 2>&1 ||
  die "pam backup restore failed: $(tail -n 3 "$log")"
say "pam backup create wrote $dump_bytes bytes, and pam backup restore read them back"

# --- SIGTERM: every role stops by itself with exit 0 --------------------------------------------------
for role in api worker scheduler; do
  podman kill --signal TERM "$run_id-$role" >/dev/null
done
for role in api worker scheduler; do
  code=$(timeout 60 podman wait "$run_id-$role") || die "the $role did not stop within 60 s of SIGTERM"
  [ "$code" = 0 ] || die "the $role exited $code after SIGTERM: $(podman logs --tail 5 "$run_id-$role" 2>&1)"
done
warnings=$(for role in api worker scheduler; do podman logs "$run_id-$role" 2>&1 | grep -E 'Warning:|FSTDEP|DEP0' || true; done)
[ -z "$warnings" ] || die "warnings at start or stop: $warnings"
say "SIGTERM stops api, worker and scheduler with exit 0, no warnings logged"

printf 'check-image: passed: image %s MB, built in %s s, ready %s s after start\n' "$size_mb" "$build_seconds" "$ready_seconds"
