#!/usr/bin/env bash
# Crash consistency, on demand: `Scripts/crash-loop.sh N` (default 20) runs a real server with two
# sites, pushes to several branches of both, `kill -9`s the server at a random moment, restarts it
# and checks, once it is idle again:
#   - every hostname serves a complete deployment (every file of its manifest: 200, the right bytes);
#   - the state database passes `PRAGMA integrity_check`;
#   - no build stays "running" or "queued" in the state database;
#   - no build process survives (no process has CANOPY_BUILD_ID in its environment).
# Prints the counts per round and a summary; exits 1 if any round failed a check.
# CANOPY_BIN picks the binary (default: the debug build). Needs git, curl, sqlite3, python3.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
canopy=${CANOPY_BIN:-$PWD/.build/debug/canopy}
[ -x "$canopy" ] || { echo "no canopy binary at $canopy (swift build, or set CANOPY_BIN)" >&2; exit 2; }
for tool in git curl sqlite3 python3; do
  command -v "$tool" >/dev/null || { echo "crash-loop.sh needs $tool" >&2; exit 2; }
done

root=$(mktemp -d /tmp/canopy-crash-loop.XXXXXX)
data=$root/data
sites=$root/Sites
mkdir -p "$data" "$sites" "$root/repos"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$root"
}
trap cleanup EXIT

export GIT_AUTHOR_NAME="Crash Loop" GIT_AUTHOR_EMAIL=crash@canopy.test
export GIT_COMMITTER_NAME="Crash Loop" GIT_COMMITTER_EMAIL=crash@canopy.test GIT_CONFIG_NOSYSTEM=1

# Two sites, each: main and dev by name, feature/* as previews. The build takes a random part of a
# second and writes a few dozen files (some large enough to get gzip variants), so kills land in
# every phase: checkout, build, ingest, record, activation.
branches=(main dev feature/a feature/b)
for site in alpha beta; do
  "$canopy" repo init "$root/repos/$site.git" --data "$data" >/dev/null
  cat >"$sites/$site.yml" <<EOF
repository: ../repos/$site.git
retention: 2
branches:
  main: { domains: [$site.test] }
  dev: { domains: [dev.$site.test] }
previews:
  - branches: "feature/*"
    domain: "{branch}.preview.$site.test"
EOF
  work=$root/work-$site
  mkdir -p "$work"
  git -C "$work" init -q -b main
  cat >"$work/amplify.yml" <<'EOF'
version: 1
frontend:
  phases:
    build:
      commands:
        - sleep "0.$((RANDOM % 10))"
        - mkdir -p out/pages
        - for i in $(seq 1 40); do echo "page $i of $AWS_BRANCH at $AWS_COMMIT_ID" > out/pages/p$i.html; done
        - for i in $(seq 1 5); do seq 1 $((2000 * i)) | sed "s/^/$AWS_COMMIT_ID /" > out/big$i.txt; done
        - cp marker.txt out/index.html
  artifacts:
    baseDirectory: out
    files: ['**/*']
EOF
  git -C "$work" remote add origin "$root/repos/$site.git"
  for branch in "${branches[@]}"; do
    git -C "$work" checkout -q -B "$branch" 2>/dev/null
    echo "$site $branch initial" >"$work/marker.txt"
    git -C "$work" add -A && git -C "$work" commit -qm "$branch initial"
    git -C "$work" push -q origin "HEAD:refs/heads/$branch"
  done
done

start_server() {
  rm -f "$data/admin.address" "$data/edge.address"
  "$canopy" serve --sites "$sites" --data "$data" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --poll 1 \
    --builds 2 >>"$root/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    [ -s "$data/admin.address" ] && [ -s "$data/edge.address" ] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "the server exited:"; tail -20 "$root/server.log"; return 1; }
    sleep 0.1
  done
  admin=$(cat "$data/admin.address")
  edge=$(cat "$data/edge.address")
  token=$(cat "$data/admin.token")
}

api() { curl -fsS -m 10 -H @- "$admin$1" <<<"Authorization: Bearer $token"; }

# Waits until nothing has been queued or running for 2 s in a row (or 120 s pass): a restarted
# server's first scan may queue the builds of pushes it had not seen a moment after it starts.
wait_idle() {
  local quiet=0
  for _ in $(seq 1 1200); do
    busy=$(api "/api/v1/builds?limit=200" | python3 -c \
      'import json,sys; print(sum(b["status"] in ("queued","running") for b in json.load(sys.stdin)))' 2>/dev/null)
    if [ "$busy" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    [ "$quiet" -ge 20 ] && return 0
    sleep 0.1
  done
  return 1
}

# Checks every hostname; prints "hosts files problems".
check_served() {
  api /api/v1/hostnames >"$root/hostnames.json" || { echo "0 0 1"; return; }
  python3 - "$root/hostnames.json" "$data/store" "${edge#http://}" <<'EOF'
import hashlib, http.client, json, sys
hostnames, store, edge = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
host, port = edge.rsplit(":", 1)
hosts = files = problems = 0
for entry in hostnames:
    name, targets = entry.get("hostname"), entry.get("targets") or []
    if not targets:
        continue
    hosts += 1
    for target in targets:
        deployment = target["deployment"]
        try:
            manifest = json.load(open(f"{store}/manifests/{deployment}.json"))
        except OSError as error:
            print(f"{name}: deployment {deployment} has no manifest ({error})", file=sys.stderr)
            problems += 1
            continue
        headers = {"Host": name, "Accept-Encoding": "identity"}
        if len(targets) > 1:
            headers["X-Canopy-Target"] = target["label"]
        for path, file in manifest["files"].items():
            files += 1
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", "/" + path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            served = response.getheader("X-Canopy-Deployment")
            if response.status != 200 or served != deployment or hashlib.sha256(body).hexdigest() != file["sha256"]:
                print(f"{name}/{path}: {response.status} from {served} (the API says {deployment}), "
                      f"{len(body)} bytes: wrong", file=sys.stderr)
                problems += 1
print(hosts, files, problems)
EOF
}

# Processes of this server's builds: CANOPY_BUILD_ID=<one of its build ids> in their environment
# (other servers on this machine have builds of their own).
build_processes() {
  sqlite3 "$data/state.sqlite" "SELECT id FROM builds" | python3 -c '
import os, sys
ids = {line.strip() for line in sys.stdin if line.strip()}
count = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        environment = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError:
        continue
    for item in environment:
        build = item[16:].decode(errors="replace")
        if item.startswith(b"CANOPY_BUILD_ID=") and build in ids:
            count += 1
            print(f"left running: pid {pid}, build {build}", file=sys.stderr)
print(count)'
}

failed_rounds=0
total_pushes=0 total_interrupted=0 total_hosts=0 total_files=0 total_problems=0
start_server || exit 1
wait_idle
printf '%-6s %-7s %-12s %-6s %-6s %-9s %-8s %-8s %s\n' round pushes interrupted hosts files integrity running leftover problems
for round in $(seq 1 "$rounds"); do
  pushes=$((1 + RANDOM % 4))
  for _ in $(seq 1 "$pushes"); do
    site=$([ $((RANDOM % 2)) = 0 ] && echo alpha || echo beta)
    branch=${branches[$((RANDOM % ${#branches[@]}))]}
    work=$root/work-$site
    git -C "$work" checkout -q "$branch"
    echo "$site $branch round $round $RANDOM" >"$work/marker.txt"
    git -C "$work" commit -qam "round $round"
    git -C "$work" push -q -f origin "HEAD:refs/heads/$branch"
    sleep "0.$((RANDOM % 5))"
  done
  total_pushes=$((total_pushes + pushes))
  sleep "$((RANDOM % 2)).$((RANDOM % 10))"
  kill -9 "$server_pid"
  wait "$server_pid" 2>/dev/null
  server_pid=
  running_before=$(sqlite3 "$data/state.sqlite" "SELECT COUNT(*) FROM builds WHERE status='running'" 2>/dev/null)
  start_server || { failed_rounds=$((failed_rounds + 1)); break; }
  wait_idle || echo "round $round: builds still busy after 120 s"
  read -r hosts files problems < <(check_served)
  integrity=$(sqlite3 "$data/state.sqlite" "PRAGMA integrity_check" 2>&1 | tr '\n' ' ' | sed 's/ $//')
  running=$(sqlite3 "$data/state.sqlite" "SELECT COUNT(*) FROM builds WHERE status IN ('running','queued')")
  leftover=$(build_processes)
  bad=$problems
  [ "$integrity" = ok ] || bad=$((bad + 1))
  [ "$running" = 0 ] || bad=$((bad + 1))
  [ "$leftover" = 0 ] || bad=$((bad + 1))
  [ "$hosts" -ge 1 ] || bad=$((bad + 1))
  printf '%-6s %-7s %-12s %-6s %-6s %-9s %-8s %-8s %s\n' "$round" "$pushes" "${running_before:-?}" "$hosts" \
    "$files" "$integrity" "$running" "$leftover" "$bad"
  [ "$bad" = 0 ] || failed_rounds=$((failed_rounds + 1))
  total_interrupted=$((total_interrupted + ${running_before:-0}))
  total_hosts=$((total_hosts + hosts)) total_files=$((total_files + files)) total_problems=$((total_problems + bad))
done
builds=$(sqlite3 "$data/state.sqlite" "SELECT status || '=' || COUNT(*) FROM builds GROUP BY status" | tr '\n' ' ')
echo "summary: $rounds rounds, $total_pushes pushes, $total_interrupted builds interrupted by kill -9," \
  "$total_hosts hostname checks, $total_files files checked, $total_problems problems, $failed_rounds failed rounds"
echo "builds by status: $builds"
if [ "$failed_rounds" != 0 ]; then
  echo "server log tail:"; tail -30 "$root/server.log"
  exit 1
fi
