#!/usr/bin/env bash
# Benchmarks Canopy's edge against nginx on the same files, then Canopy's peak memory for a
# 10,000-file site. Prints one table; needs root (or sudo) only to install nginx-light and wrk.
#
#   Scripts/bench.sh            # per row: 5 rounds of wrk -t1 -c64 -d4s against each server
#   BENCH_DURATION=10s BENCH_ROUNDS=5 Scripts/bench.sh
#
# The servers take turns (nginx first in odd rounds, Canopy first in even ones) and each figure is
# the median over the rounds, so a burst of noise from other tenants of a shared machine moves one
# round, not the result.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/setup.sh nginx-light wrk python3 curl
# shellcheck source=Scripts/compare-common.sh
source Scripts/compare-common.sh

duration="${BENCH_DURATION:-4s}"
rounds="${BENCH_ROUNDS:-5}"
connections="${BENCH_CONNECTIONS:-64}"
cores="$(nproc)"
nginx_port="${BENCH_NGINX_PORT:-$(free_port)}"
canopy_port="${BENCH_CANOPY_PORT:-$(free_port)}"
memory_port="${BENCH_MEMORY_PORT:-$(free_port)}"

compare_setup canopy-bench

# MARK: Files
site="$work/site"
mkdir -p "$site"
python3 - "$site" <<'PY'
import os, sys
site = sys.argv[1]
head = "<!doctype html><html><head><meta charset=\"utf-8\"><title>bench</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body>"
tail = "</body></html>\n"
filler = "<p>Canopy bench page.</p>"
html = head + filler * ((1024 - len(head) - len(tail)) // len(filler))
html += "x" * (1024 - len(html) - len(tail)) + tail
assert len(html) == 1024
open(os.path.join(site, "index.html"), "w").write(html)
css, i = [], 0
while sum(map(len, css)) < 30 * 1024:
    css.append(".rule-%d { color: #%06x; margin: %dpx %dpx; padding: 0 %dem; }\n" % (i, (i * 2654435761) & 0xFFFFFF, i % 17, i % 23, i % 5))
    i += 1
open(os.path.join(site, "style.css"), "w").write("".join(css)[: 30 * 1024])
open(os.path.join(site, "blob.bin"), "wb").write(os.urandom(1 << 20))
PY
# nginx gets the same files plus a pre-made .gz for gzip_static (Canopy makes its own at ingest).
cp -r "$site" "$work/nginx-site"
gzip -9 -k "$work/nginx-site/style.css"

# MARK: nginx
start_nginx "$cores" "$nginx_port" "    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    gzip_static on;
    etag on;"

# MARK: Canopy
start_canopy() { # folder port → sets canopy_pid
  local log="$work/canopy-$2.log"
  "$bin" "$1" "$2" "$cores" >"$log" 2>&1 &
  pids+=($!)
  canopy_pid=$!
  for _ in $(seq 1 1200); do
    grep -q '^pid=' "$log" 2>/dev/null && return 0
    kill -0 "$canopy_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "canopy-bench-serve did not start within 120 s" >&2
  cat "$log" >&2
  exit 1
}
start_canopy "$site" "$canopy_port"

wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -H 'Host: bench.test' "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  exit 1
}
wait_http "$nginx_port"
wait_http "$canopy_port"

# MARK: wrk
cat >"$work/bench.lua" <<'LUA'
wrk.headers["Host"] = "bench.test"
if os.getenv("BENCH_GZIP") == "1" then wrk.headers["Accept-Encoding"] = "gzip" end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT %.0f %.2f %d %d\n", summary.requests / seconds, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA

# Checks one response's status and coding before measuring, so a row never measures the wrong thing.
check() { # port path gzip expected-status expected-coding
  local headers=(-H 'Host: bench.test')
  [ "$3" = 1 ] && headers+=(-H 'Accept-Encoding: gzip')
  local out
  out="$(curl -s -o /dev/null -w '%{http_code} %header{content-encoding}' "${headers[@]}" "http://127.0.0.1:$1$2")"
  if [ "$out" != "$4 $5" ] && [ "$out" != "$4 $5 " ]; then
    echo "port $1 $2: expected '$4 $5', got '$out'" >&2
    exit 1
  fi
}

# CPU time (user + system, in clock ticks) of processes, from /proc: the server's cost of a run.
ticks() { # pid…
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
server_pids() { # port → the processes that serve it (nginx: its workers)
  if [ "$1" = "$nginx_port" ]; then pgrep -P "$(pgrep -o -f "nginx -p $work/nginx" || echo "$nginx_master")" || true; else echo "$canopy_pid"; fi
}
hz="$(getconf CLK_TCK)"

run() { # port path gzip → "req/s p99ms cpu-µs-per-request"
  local line before after
  # shellcheck disable=SC2046 # one pid per word
  before="$(ticks $(server_pids "$1"))"
  line="$(BENCH_GZIP="$3" wrk -t1 -c"$connections" -d"$duration" -s "$work/bench.lua" "http://127.0.0.1:$1$2" | grep '^RESULT')"
  # shellcheck disable=SC2046
  after="$(ticks $(server_pids "$1"))"
  set -- $line
  [ "$4" -gt 0 ] && echo "warning: $4 socket errors" >&2
  echo "$2 $3 $(python3 -c "print(f'{($after - $before) * 1e6 / $hz / max($5, 1):.1f}')")"
}

rows=("1 KiB HTML|/index.html|0|200|" "30 KiB CSS gzip|/style.css|1|200|gzip" "1 MiB binary|/blob.bin|0|200|" "404|/missing.html|0|404|")
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
results=()
for row in "${rows[@]}"; do
  IFS='|' read -r name path gzip status coding <<<"$row"
  check "$nginx_port" "$path" "$gzip" "$status" "$coding"
  check "$canopy_port" "$path" "$gzip" "$status" "$coding"
  echo "==> $name" >&2
  n_rps=() n_p99=() n_cpu=() c_rps=() c_p99=() c_cpu=() ratios=()
  for round in $(seq 1 "$rounds"); do
    order=("$nginx_port" "$canopy_port")
    [ $((round % 2)) -eq 0 ] && order=("$canopy_port" "$nginx_port")
    for port in "${order[@]}"; do
      read -r rps p99 cpu <<<"$(run "$port" "$path" "$gzip")"
      if [ "$port" = "$nginx_port" ]; then
        n_rps+=("$rps") n_p99+=("$p99") n_cpu+=("$cpu")
      else
        c_rps+=("$rps") c_p99+=("$p99") c_cpu+=("$cpu")
      fi
    done
    ratios+=("$(python3 -c "print(${c_rps[-1]} / max(${n_rps[-1]}, 1))")")
    echo "    round $round: nginx ${n_rps[-1]} req/s, canopy ${c_rps[-1]} req/s" >&2
  done
  spread="$(python3 -c "import sys; r = [float(x) for x in sys.argv[1:]]; print(f'{min(r):.2f}-{max(r):.2f}')" "${ratios[@]}")"
  results+=("$name|$(median "${n_rps[@]}")|$(median "${c_rps[@]}")|$(median "${n_p99[@]}")|$(median "${c_p99[@]}")|$(median "${n_cpu[@]}")|$(median "${c_cpu[@]}")|$spread")
done

echo
echo "wrk -t1 -c$connections -d$duration, median of $rounds rounds, $cores cores, nginx workers = canopy event loops = $cores"
echo "ratio = canopy/nginx req/s of the medians (higher is better), rounds = lowest and highest ratio of"
echo "a single round; CPU = server CPU time per request (lower is better)"
printf '%-16s %11s %12s %7s %10s %10s %11s %11s %11s\n' row "nginx req/s" "canopy req/s" ratio rounds "nginx p99" "canopy p99" "nginx CPU" "canopy CPU"
for r in "${results[@]}"; do
  IFS='|' read -r name n c np cp ncpu ccpu spread <<<"$r"
  ratio="$(python3 -c "print(f'{$c/$n:.2f}x')")"
  printf '%-16s %11.0f %12.0f %7s %10s %8.2fms %9.2fms %9.1fµs %9.1fµs\n' "$name" "$n" "$c" "$ratio" "$spread" "$np" "$cp" "$ncpu" "$ccpu"
done

# MARK: Memory
kill "$canopy_pid" 2>/dev/null || true
big="$work/big-site"
python3 - "$big" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(10000):
    d = os.path.join(root, "section-%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    body = "<!doctype html><html><head><title>Page %d</title></head><body>" % i
    body += "".join("<p>Paragraph %d of page %d.</p>" % (j, i) for j in range(20 + i % 80)) + "</body></html>\n"
    open(os.path.join(d, "page-%04d.html" % i), "w").write(body)
PY
site_bytes="$(du -sb "$big" | cut -f1)"
start_canopy "$big" "$memory_port"
urls=()
for i in $(seq 0 7 9999); do urls+=(-o /dev/null "http://127.0.0.1:$memory_port/section-$(printf %03d $((i / 100)))/page-$(printf %04d "$i").html"); done
curl -s -H "Host: bench.test" -H "Accept-Encoding: gzip" "${urls[@]}"
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$canopy_pid/status")"
rss="$(awk '/VmRSS/ {print $2}' "/proc/$canopy_pid/status")"
echo
echo "canopy, 10,000-file site ($((site_bytes / 1024)) KiB of HTML), after $((${#urls[@]} / 3)) requests: peak RSS (VmHWM) $((hwm / 1024)) MiB, RSS now $((rss / 1024)) MiB"
