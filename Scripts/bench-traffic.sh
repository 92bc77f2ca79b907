#!/usr/bin/env bash
# Time to apply a swap and a rollback (inside the server, and end to end through the CLI), for a
# small site and for a site of 10,000 files: the target is under 10 ms and independent of site size.
# Usage: Scripts/bench-traffic.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh python3
REPEATS=${1:-20}

swift build -c release --scratch-path .build-release --product canopy 2>&1 | tail -1
canopy=$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy
work=$(mktemp -d /tmp/canopy-bench-traffic.XXXXXX)
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/Sites" "$work/data"

make_site() {  # name files
  local name=$1 files=$2 dir=$work/src-$1
  "$canopy" repo init "$work/repos/$name.git" --data "$work/data" >/dev/null
  mkdir -p "$dir"
  python3 - "$dir" "$files" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, f"p{i // 500:03d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i}.html"), "w") as f:
        f.write(f"<p>file {i}</p>\n")
with open(os.path.join(d, "index.html"), "w") as f:
    f.write("<p>home</p>\n")
PY
  git -C "$dir" init -q -b main
  git -C "$dir" -c user.name=b -c user.email=b@c.test add -A
  git -C "$dir" -c user.name=b -c user.email=b@c.test commit -qm v1
  git -C "$dir" remote add origin "$work/repos/$name.git"
  cat > "$work/Sites/$name.yml" <<YML
repository: ../repos/$name.git
branches:
  main: { domains: [$name.test] }
  staging: { domains: [staging.$name.test] }
YML
}
make_site small 10
make_site large 10000

"$canopy" serve --sites "$work/Sites" --data "$work/data" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --log-level warning 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/data/admin.address" ] && break; sleep 0.1; done

python3 - "$work" "$canopy" "$REPEATS" <<'PY'
import json, subprocess, sys, time, statistics, http.client
work, canopy, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = open(f"{work}/data/admin.address").read().strip().rsplit(":", 1)
token = open(f"{work}/data/admin.token").read().strip()
edge_port = int(open(f"{work}/data/edge.address").read().strip().rsplit(":", 1)[1])
def api(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", int(admin[1]), timeout=60)
    c.request(method, path, body=json.dumps(body) if body else None,
              headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    return r.status, json.loads(data) if data else None
def served(host):
    c = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=10)
    c.request("GET", "/", headers={"Host": host}); r = c.getresponse(); r.read()
    return r.status, r.getheader("X-Canopy-Deployment")
env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@c.test", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@c.test", "PATH": "/usr/bin:/bin"}
def push(site, branch, n):
    d = f"{work}/src-{site}"
    with open(f"{d}/index.html", "w") as f: f.write(f"<p>{branch} {n}</p>\n")
    subprocess.run(["git", "-C", d, "commit", "-qam", f"{branch} {n}"], check=True, env=env)
    subprocess.run(["git", "-C", d, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{branch}"], check=True, env=env)
for site in ["small", "large"]:
    for n, branch in enumerate(["main", "staging", "main"]):
        push(site, branch, n)
        t0 = time.time()
        while True:
            s, d = served(f"{branch}.{site}.test" if branch != "main" else f"{site}.test")
            _, builds = api("GET", f"/api/v1/builds?site={site}&limit=1")
            if builds and builds[0]["status"] in ("succeeded", "failed") and s == 200: break
            if time.time() - t0 > 600: raise SystemExit("deploy timed out")
            time.sleep(0.2)
print(f"{'site':8} {'files':>6}  {'action':9} {'server ms (median / max)':>26}  {'CLI ms (median)':>16}")
for site, files in [("small", 11), ("large", 10001)]:
    for action in ["swap", "rollback"]:
        server_ms, cli_ms = [], []
        for i in range(repeats):
            if action == "swap":
                args = ["swap", f"{site}.test", f"staging.{site}.test"]
            else:
                args = ["rollback", f"{site}/main"] if i % 2 == 0 else ["unpin", f"{site}/main"]
            t0 = time.perf_counter()
            out = subprocess.run([canopy, *args, "--data", f"{work}/data"], capture_output=True, text=True)
            elapsed = (time.perf_counter() - t0) * 1000
            if out.returncode != 0: raise SystemExit(out.stdout + out.stderr)
            if action == "swap" or i % 2 == 0:
                cli_ms.append(elapsed)
                word = out.stdout.split(" in ")[-1] if action == "swap" else out.stdout.split("applied in ")[-1]
                server_ms.append(float(word.split(" ")[0].strip("()")))
        print(f"{site:8} {files:>6}  {action:9} {statistics.median(server_ms):>12.2f} / {max(server_ms):>8.2f}      {statistics.median(cli_ms):>10.1f}")
print("target: server-side apply under 10 ms, the same for 11 and 10,001 files")
PY
