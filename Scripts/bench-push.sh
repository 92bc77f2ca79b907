#!/usr/bin/env bash
# Push-to-live latency: from `git push` returning to the new content being served by the edge, for
# a build whose commands are trivial. Prints each run and the median / p90 / max.
# Usage: Scripts/bench-push.sh [RUNS]   (CANOPY_PUSH_BIN=path: another canopy build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh python3
RUNS=${1:-20}

# CANOPY_PUSH_BIN=path runs that canopy instead (another build, for a before/after).
if [ -n "${CANOPY_PUSH_BIN:-}" ]; then
  canopy="$CANOPY_PUSH_BIN"
else
  swift build -c release --scratch-path .build-release --product canopy 2>&1 | tail -1
  canopy=$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy
fi

work=$(mktemp -d /tmp/canopy-bench-push.XXXXXX)
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/Sites" "$work/data" "$work/site"
"$canopy" repo init "$work/repos/bench.git" --data "$work/data" >/dev/null
cat > "$work/Sites/bench.yml" <<YML
repository: ../repos/bench.git
branches:
  main: { domains: [bench.test] }
YML
cat > "$work/site/amplify.yml" <<'YML'
version: 1
frontend:
  phases:
    build:
      commands:
        - mkdir -p out && cp index.html out/
  artifacts:
    baseDirectory: out
    files: ['**/*']
test:
  phases:
    test:
      commands:
        - grep -q version out/index.html
YML
echo "<p>version 0</p>" > "$work/site/index.html"
git -C "$work/site" init -q -b main
git -C "$work/site" -c user.name=bench -c user.email=bench@canopy.test add -A
git -C "$work/site" -c user.name=bench -c user.email=bench@canopy.test commit -qm v0
git -C "$work/site" remote add origin "$work/repos/bench.git"

"$canopy" serve --sites "$work/Sites" --data "$work/data" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --poll 5 --log-level warning 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/data/edge.address" ] && [ -s "$work/data/admin.address" ] && break; sleep 0.1; done

python3 - "$work" "$RUNS" <<'PY'
import http.client, subprocess, sys, time, statistics
work, runs = sys.argv[1], int(sys.argv[2])
port = int(open(f"{work}/data/edge.address").read().strip().rsplit(":", 1)[1])
env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@c.test", "GIT_COMMITTER_NAME": "bench",
       "GIT_COMMITTER_EMAIL": "b@c.test", "PATH": "/usr/bin:/bin:/usr/local/bin"}
def git(*args):
    subprocess.run(["git", "-C", f"{work}/site", *args], check=True, env=env, capture_output=True)
conn = None
def fetch():
    global conn
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/", headers={"Host": "bench.test"})
        r = conn.getresponse()
        return r.status, r.read().decode()
    except Exception:
        conn = None
        return 0, ""
def wait_for(text, limit=120):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        status, body = fetch()
        if status == 200 and text in body:
            return time.monotonic()
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {text!r}")
git("push", "-q", "origin", "main")
wait_for("version 0")
samples = []
for i in range(1, runs + 1):
    with open(f"{work}/site/index.html", "w") as f:
        f.write(f"<p>version {i}</p>\n")
    git("commit", "-qam", f"v{i}")
    git("push", "-q", "origin", "main")
    pushed = time.monotonic()
    live = wait_for(f"version {i}<")
    samples.append((live - pushed) * 1000)
    print(f"run {i:3d}: push-to-live {samples[-1]:7.1f} ms")
samples.sort()
p90 = samples[min(len(samples) - 1, int(round(0.9 * (len(samples) - 1))))]
print(f"\npush-to-live over {len(samples)} pushes: median {statistics.median(samples):.1f} ms, "
      f"p90 {p90:.1f} ms, max {samples[-1]:.1f} ms (target: under 1000 ms)")
PY
