#!/usr/bin/env bash
# On demand, not a test: floods a live `canopy serve` on loopback, one flood at a time, while a probe
# requests a page every 50 ms, and prints per flood the server's peak RSS and open descriptors and
# the probe's success rate and worst latency. The flood clients (Scripts/abuse-floods.py) are
# Python 3 with the standard library only: HTTP/2 frames are built by hand.
#
#   Scripts/abuse.sh                       # every flood, 10 s each (about 3 minutes with the build)
#   ABUSE_SECONDS=20 ABUSE_FLOODS="pipelining idle" Scripts/abuse.sh
#   CANOPY_BIN=.build/debug/canopy Scripts/abuse.sh   # skip the release build
#
# Target (issue #15): the server survives every flood, RSS stays under 512 MB, the probe never sees
# a wrong answer and is served within 1 s throughout. A server that dies is restarted for the next
# flood, and one that grows it past ABUSE_RSS_CAP MiB (2048) is stopped early. The idle flood opens
# ABUSE_IDLE (20,000) connections: the script raises its descriptor limit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh python3 git curl

seconds="${ABUSE_SECONDS:-10}"
floods="${ABUSE_FLOODS:-h2-junk h2-settings h2-ping h2-continuation h2-rapid-reset pipelining idle slowloris admin-bodies}"
idle="${ABUSE_IDLE:-20000}"
rss_cap="${ABUSE_RSS_CAP:-2048}" # MiB: a flood that grows the server past this is stopped (shared machines)

# 20,000 connections need 20,000 descriptors on each side (the server raises its soft limit to the
# hard one at start). Raising the hard limit needs root; otherwise the hard limit is what there is.
ulimit -Hn $((idle * 2 + 4096)) 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)"

if [ -n "${CANOPY_BIN:-}" ]; then
  bin="$CANOPY_BIN"
else
  echo "==> Building canopy (release)" >&2
  swift build -c release --scratch-path .build-release --product canopy >/dev/null
  bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy"
fi

work="$(mktemp -d /tmp/canopy-abuse.XXXXXX)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# MARK: A site, deployed by a real push
mkdir -p "$work/Sites" "$work/repos" "$work/site/public"
"$bin" repo init "$work/repos/site.git" --data "$work/data" >/dev/null
cat >"$work/site/amplify.yml" <<'YML'
version: 1
frontend:
  phases:
    build:
      commands:
        - mkdir -p dist && cp -R public/. dist/
  artifacts:
    baseDirectory: dist
    files:
      - '**/*'
YML
expect="canopy abuse probe page"
echo "<!doctype html><title>probe</title><p>$expect</p>" >"$work/site/public/index.html"
head -c 65536 /dev/urandom | base64 >"$work/site/public/big.txt"
git() { command git -C "$work/site" -c user.name="Canopy Abuse" -c user.email=abuse@canopy.localhost "$@"; }
git init -q -b main
git add -A
git commit -qm "probe page"
git remote add canopy "$work/repos/site.git"
printf 'repository: ../repos/site.git\nbranches:\n  main: { domains: [site.test] }\n' >"$work/Sites/site.yml"

start_server() {
  rm -f "$work/data/edge.address" "$work/data/admin.address"
  "$bin" serve --sites "$work/Sites" --data "$work/data" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --poll 1 \
    >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    [ -s "$work/data/edge.address" ] && [ -s "$work/data/admin.address" ] && break
    kill -0 "$server" 2>/dev/null || { tail -20 "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  edge_port="$(sed 's/.*://' "$work/data/edge.address")"
  admin_port="$(sed 's/.*://' "$work/data/admin.address")"
}
wait_served() {
  for _ in $(seq 1 600); do
    curl -s -H 'Host: site.test' "http://127.0.0.1:$edge_port/" 2>/dev/null | grep -q "$expect" && return 0
    sleep 0.2
  done
  echo "site.test is not served; server log:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
}

start_server
git push -q canopy main
wait_served
echo "==> canopy serve (pid $server) on 127.0.0.1:$edge_port, admin on $admin_port; $seconds s per flood" >&2

results=()
for flood in $floods; do
  echo "==> $flood" >&2
  line="$(python3 Scripts/abuse-floods.py "$flood" --pid "$server" --edge "$edge_port" --admin "$admin_port" \
    --host site.test --expect "$expect" --seconds "$seconds" --idle "$idle" --rss-cap "$rss_cap")"
  results+=("$line")
  if ! kill -0 "$server" 2>/dev/null; then
    echo "    the server died; its log ends:" >&2
    tail -5 "$work/server.log" | sed 's/^/    /' >&2
    wait "$server" 2>/dev/null || true
    start_server
    wait_served
  fi
  sleep 2 # the server settles (closed connections, freed memory) before the next flood
done

echo
echo "Floods of $seconds s each against canopy serve on loopback; the probe GETs / on a new connection every 50 ms."
echo "peak RSS and descriptors are the server's, sampled every 100 ms; probe latency is the worst seen."
printf '%-16s %-6s %9s %9s %13s %9s  %s\n' flood server "RSS MiB" "fds" "probe ok" "worst ms" "flood client counts"
for r in "${results[@]}"; do
  IFS=$'\t' read -r name state rss fds ok pct worst counts <<<"$r"
  printf '%-16s %-6s %9s %9s %13s %9s  %s\n' "$name" "$state" "$rss" "$fds" "$ok ($pct)" "$worst" "$counts"
done
