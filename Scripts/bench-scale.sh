#!/usr/bin/env bash
# Memory and descriptors against the number of previews (issue #13): a generated site (default
# 2,000 files, 20 MB) deployed on `main` and on 20 preview branches that each change one file,
# served by `canopy serve` (release). Prints the server's RSS and open descriptors with main only
# and with the 20 previews (after every file of every deployment was requested once), the body
# cache's figures, nginx serving the same 21 folders from disk, for comparison, the first deploy's
# time, and one-file push-to-live on `main` (median of SCALE_PUSHES, default 5) with the build
# log's phase times of the last push.
#
#   Scripts/bench-scale.sh                      # 2,000 files, 20 MB
#   SCALE_FILES=10000 SCALE_MB=100 Scripts/bench-scale.sh   # the issue's second site
#   SCALE_CACHE=256MiB Scripts/bench-scale.sh   # --cache-size (default: the server's default)
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh nginx-light python3 curl git

files="${SCALE_FILES:-2000}"
megabytes="${SCALE_MB:-20}"
previews="${SCALE_PREVIEWS:-20}"
pushes="${SCALE_PUSHES:-5}"
cache_flag=()
[ -n "${SCALE_CACHE:-}" ] && cache_flag=(--cache-size "$SCALE_CACHE")

if [ -z "${CANOPY_BIN:-}" ]; then
  swift build -c release --scratch-path .build-release --product canopy 2>&1 | tail -1
  CANOPY_BIN="$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy"
fi
work="$(mktemp -d /tmp/canopy-bench-scale.XXXXXX)"
server="" nginx_master=""
trap 'kill $server $nginx_master 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/Sites" "$work/data" "$work/site"
"$CANOPY_BIN" repo init "$work/repos/scale.git" --data "$work/data" >/dev/null
cat >"$work/Sites/scale.yml" <<YML
repository: ../repos/scale.git
branches:
  main: { domains: [scale.test] }
previews:
  - branches: "preview/*"
    domain: "{branch}.preview.scale.test"
YML

# MARK: The site: pages of one size, distinct content, in folders of 100.
python3 - "$work/site" "$files" "$megabytes" <<'PY'
import os, random, sys
root, count, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = mb * 1_000_000 // count
rng = random.Random(13)
words = ["canopy", "preview", "branch", "deploy", "static", "cache", "edge", "store", "blob", "page"]
for i in range(count):
    folder = os.path.join(root, "site", "section-%03d" % (i // 100))
    os.makedirs(folder, exist_ok=True)
    head = "<!doctype html><html><head><title>Page %d</title></head><body>" % i
    text = []
    length = len(head) + 15
    while length < size:
        w = " ".join(rng.choice(words) for _ in range(12)) + ". "
        text.append(w)
        length += len(w)
    body = (head + "".join(text))[: size - 15] + "</body></html>\n"
    open(os.path.join(folder, "page-%05d.html" % i), "w").write(body)
PY
cat >"$work/site/amplify.yml" <<'YML'
version: 1
frontend:
  phases:
    build:
      commands: ["true"]
  artifacts:
    baseDirectory: site
    files: ['**/*']
YML
g() { git -C "$work/site" -c user.name=bench -c user.email=bench@canopy.test "$@"; }
g init -q -b main
g add -A
g commit -qm main
g remote add origin "$work/repos/scale.git"

"$CANOPY_BIN" serve --sites "$work/Sites" --data "$work/data" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --poll 1 --log-level info "${cache_flag[@]}" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 300); do [ -s "$work/data/edge.address" ] && break; sleep 0.1; done
port="$(sed 's/.*://' "$work/data/edge.address")"

# Requests every page of `host` once (keep-alive); fails on a wrong status; waits for `expect`
# in the changed page first (the deploy may still be going on).
sweep() { # host expect-path expect-text
  python3 - "$port" "$1" "$2" "$3" "$files" <<'PY'
import http.client, sys, time
port, host, path, text, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
deadline = time.monotonic() + 300
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        if r.status == 200 and text in r.read().decode():
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        raise SystemExit(f"{host}{path} never served {text!r}")
    time.sleep(0.2)
for i in range(count):
    c.request("GET", "/section-%03d/page-%05d.html" % (i // 100, i), headers={"Host": host})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"{host}: page {i} answered {r.status}")
PY
}
memory() { # → "RSS-MiB descriptors"
  echo "$(($(awk '/VmRSS/ {print $2}' "/proc/$server/status") / 1024)) $(ls "/proc/$server/fd" | wc -l)"
}
metric() { curl -s -H "Authorization: Bearer $(cat "$work/data/admin.token")" "$(cat "$work/data/admin.address")/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

started=$(date +%s.%N)
g push -q origin main
sweep scale.test /section-000/page-00000.html "Page 0<"
first_deploy=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
read -r rss_main fds_main <<<"$(memory)"

# MARK: One-file pushes on main: from `git push` returning to the changed page being served.
# Prints the milliseconds from `pushed` (a `date +%s.%N`) to the first answer with the text, taken
# where the answer arrives: timing it in a process started afterwards would add that start-up.
served_text() { # text pushed: polls the changed page until it has `text`
  python3 - "$port" "$1" "$2" <<'PY'
import http.client, sys, time
port, text, pushed = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + 120
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
while time.monotonic() < deadline:
    c.request("GET", "/section-000/page-00000.html", headers={"Host": "scale.test"})
    r = c.getresponse()
    if text in r.read().decode():
        print(f"{(time.time() - pushed) * 1000:.0f}")
        break
    time.sleep(0.002)
else:
    raise SystemExit(f"never served {text!r}")
PY
}
push_times=()
for n in $(seq 1 "$pushes"); do
  echo "<p>push $n</p>" >>"$work/site/site/section-000/page-00000.html"
  g commit -qam "push $n"
  g push -q origin main
  pushed=$(date +%s.%N)
  push_times+=("$(served_text "push $n<" "$pushed")")
done
push_median=$(printf '%s\n' "${push_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
last_phases="$(grep -h "Timings:" $(ls -td "$work"/data/builds/*/ | head -1)build.log 2>/dev/null | tail -1 || true)"

for p in $(seq 1 "$previews"); do
  g checkout -q -b "preview/p$p" main
  page="site/section-000/page-$(printf %05d "$p").html"
  echo "<p>preview $p</p>" >>"$work/site/$page"
  g commit -qam "preview $p"
  g push -q origin "preview/p$p"
done
g checkout -q main
for p in $(seq 1 "$previews"); do
  sweep "preview-p$p.preview.scale.test" "/section-000/page-$(printf %05d "$p").html" "preview $p<"
done
read -r rss_previews fds_previews <<<"$(memory)"
cache_bytes="$(metric canopy_body_cache_bytes)"; cache_bytes="${cache_bytes:-0}"
cache_budget="$(metric canopy_body_cache_budget_bytes)"; cache_budget="${cache_budget:-0}"
hits="$(metric canopy_body_cache_hits_total)"
misses="$(metric canopy_body_cache_misses_total)"

# MARK: nginx, the same 1 + previews folders from disk
mkdir -p "$work/nginx/logs" "$work/roots"
servers=""
for p in main $(seq 1 "$previews"); do
  if [ "$p" = main ]; then branch=main host=scale.test; else branch="preview/p$p" host="preview-p$p.preview.scale.test"; fi
  mkdir -p "$work/roots/$p"
  git -C "$work/site" archive "$branch" site | tar -x -C "$work/roots/$p"
  servers+="    server { listen 127.0.0.1:NGINX_PORT; server_name $host; root $work/roots/$p/site; }"$'\n'
done
nginx_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    open_file_cache max=10000 inactive=60s;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
${servers//NGINX_PORT/$nginx_port}}
CONF
chmod -R a+rX "$work"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_master=$!
sleep 1
real_port="$port"
port="$nginx_port"
sweep scale.test /section-000/page-00000.html "Page 0<"
for p in $(seq 1 "$previews"); do
  sweep "preview-p$p.preview.scale.test" "/section-000/page-$(printf %05d "$p").html" "preview $p<"
done
port="$real_port"
nginx_rss=0 nginx_fds=0
for pid in $nginx_master $(pgrep -P "$nginx_master"); do
  nginx_rss=$((nginx_rss + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")))
  nginx_fds=$((nginx_fds + $(ls "/proc/$pid/fd" | wc -l)))
done

site_mb=$(($(du -sb "$work/site/site" | cut -f1) / 1000000))
echo
echo "site: $files files, $site_mb MB; $previews previews each changing one file; $(nproc) cores"
grep -m1 "body cache:" "$work/server.log" | sed 's/^.*body cache/canopy body cache/' || true
printf '%-44s %10s %12s\n' "" "RSS MiB" descriptors
printf '%-44s %10s %12s\n' "canopy, main only (after one sweep)" "$rss_main" "$fds_main"
printf '%-44s %10s %12s\n' "canopy, main + $previews previews (after sweeps)" "$rss_previews" "$fds_previews"
printf '%-44s %10s %12s\n' "nginx, the same $((previews + 1)) folders (master+workers)" "$((nginx_rss / 1024))" "$nginx_fds"
echo "first deploy (push to served): $first_deploy s"
echo "one-file push-to-live on main, $pushes pushes: median $push_median ms (each: ${push_times[*]} ms)"
[ -n "$last_phases" ] && echo "last push's build log: $last_phases"
echo "body cache: $((cache_bytes / 1048576)) MiB held of $((cache_budget / 1048576)) MiB; hits $hits, misses $misses"
echo "RSS per extra preview: $(python3 -c "print(f'{($rss_previews - $rss_main) / $previews:.1f}')") MiB"

# MARK: Many hostnames and a 100,000-file deployment (canopy-bench-routing, release)
if [ "${SCALE_ROUTING:-1}" != 0 ]; then
  echo
  swift build -c release --scratch-path .build-release --product canopy-bench-routing 2>&1 | tail -1
  "$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy-bench-routing"
fi
