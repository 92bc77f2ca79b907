#!/usr/bin/env bash
# Benchmarks Canopy's TLS listener against nginx with the same certificate and key (ECDSA P-256),
# on the same cores, in one run, the servers taking turns in each round. On demand, not a test.
#
#   Scripts/bench-tls.sh                       # 3 rounds, 4 s per measurement
#   BENCH_ROUNDS=5 BENCH_DURATION=6 Scripts/bench-tls.sh
#
# Rows: full handshakes/s and resumed handshakes/s (a Python client with SNI, two processes, each
# connection only handshakes; resumed ones offer the session of a first connection), and keep-alive
# requests/s for a 1 KiB page over HTTP/1.1 (wrk -t1 -c64) and HTTP/2 (h2load -c64 -m10).
# Each figure is the median over the rounds; the ratio is canopy/nginx (higher is better).
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/setup.sh nginx-light wrk nghttp2-client python3 curl openssl
# shellcheck source=Scripts/compare-common.sh
source Scripts/compare-common.sh

duration="${BENCH_DURATION:-4}"
rounds="${BENCH_ROUNDS:-3}"
cores="$(nproc)"
nginx_port="$(free_port)" nginx_tls="$(free_port)" canopy_port="$(free_port)" canopy_tls="$(free_port)"

# A release build of its own (.build-release), so that a debug build in .build is not locked meanwhile.
echo "==> Building canopy-bench-serve (release)" >&2
swift build -c release --product canopy-bench-serve --scratch-path .build-release >/dev/null
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy-bench-serve"
work="$(mktemp -d /tmp/canopy-bench-tls.XXXXXX)"
pids=()
trap compare_cleanup EXIT

# MARK: Files and certificate
mkdir -p "$work/site"
python3 - "$work/site/index.html" <<'PY'
import sys
page = "<!doctype html><html><head><title>bench</title></head><body>" + "<p>Canopy TLS bench.</p>" * 60
page = (page + "x" * 1024)[: 1024 - len("</body></html>\n")] + "</body></html>\n"
open(sys.argv[1], "w").write(page)
PY
cp -r "$work/site" "$work/nginx-site"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -subj /CN=bench.test -days 2 -addext "subjectAltName=DNS:bench.test,DNS:127.0.0.1" 2>/dev/null

# MARK: Servers
start_nginx "$cores" "$nginx_port" "    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$nginx_tls ssl http2;  # nginx 1.22 (Debian 12) has no http2 directive
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        root $work/nginx-site;
    }"
log="$work/canopy.log"
CANOPY_BENCH_TLS_PORT="$canopy_tls" CANOPY_BENCH_CERT="$work/cert.pem" CANOPY_BENCH_KEY="$work/key.pem" \
  "$bin" "$work/site" "$canopy_port" "$cores" "bench.test,127.0.0.1" >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do grep -q '^pid=' "$log" 2>/dev/null && break; sleep 0.1; done
grep -q "tls=$canopy_tls" "$log" || { cat "$log" >&2; exit 1; }
for port in "$nginx_tls" "$canopy_tls"; do
  for _ in $(seq 1 100); do
    curl -sk --resolve "bench.test:$port:127.0.0.1" -o /dev/null "https://bench.test:$port/index.html" && break
    sleep 0.1
  done
  [ "$(curl -sk --http2 --resolve "bench.test:$port:127.0.0.1" -o /dev/null -w '%{http_code} %{http_version}' \
    "https://bench.test:$port/index.html")" = "200 2" ] || { echo "port $port does not serve h2" >&2; exit 1; }
done

# MARK: Clients
cat >"$work/handshakes.py" <<'PY'
import socket, ssl, sys, time
port, seconds, mode = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
def connect(session=None):
    raw = socket.create_connection(("127.0.0.1", port))
    s = context.wrap_socket(raw, server_hostname="bench.test", session=session)
    return s
session = None
if mode == "resumed":
    s = connect()
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n")
    while s.recv(65536): pass  # TLS 1.3 tickets arrive after the handshake
    session = s.session
    s.close()
count = reused = 0
end = time.monotonic() + seconds
start = time.monotonic()
while time.monotonic() < end:
    s = connect(session)
    reused += s.session_reused
    count += 1
    s.close()
elapsed = time.monotonic() - start
print(f"{count / elapsed:.1f} {reused}")
PY
handshakes() { # port mode → handshakes/s (two client processes)
  local a b
  a="$(mktemp)" b="$(mktemp)"
  python3 "$work/handshakes.py" "$1" "$duration" "$2" >"$a" &
  python3 "$work/handshakes.py" "$1" "$duration" "$2" >"$b"
  wait
  python3 - "$a" "$b" "$2" <<'PY'
import sys
rates = [open(f).read().split() for f in sys.argv[1:3]]
if sys.argv[3] == "resumed" and any(int(r[1]) == 0 for r in rates):
    sys.exit("no handshake was resumed")
print(f"{sum(float(r[0]) for r in rates):.0f}")
PY
  rm -f "$a" "$b"
}
h1() { # port → req/s
  wrk -t1 -c64 -d"${duration}s" -H 'Host: bench.test' "https://127.0.0.1:$1/index.html" \
    | awk '/^Requests\/sec/ {printf "%.0f\n", $2}'
}
h2() { # port → req/s
  h2load -c64 -m10 -t1 -D "$duration" --connect-to="127.0.0.1:$1" "https://bench.test:$1/index.html" 2>/dev/null \
    | awk '/^finished in/ {gsub(",", "", $4); printf "%.0f\n", $4}'
}

rows=("full handshakes/s|handshakes new" "resumed handshakes/s|handshakes resumed" "1 KiB HTTP/1.1 req/s|h1" "1 KiB HTTP/2 req/s|h2")
median() { python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.0f}')" "$@"; }
results=()
for row in "${rows[@]}"; do
  IFS='|' read -r name command <<<"$row"
  echo "==> $name" >&2
  n=() c=()
  for round in $(seq 1 "$rounds"); do
    order=(nginx canopy)
    [ $((round % 2)) -eq 0 ] && order=(canopy nginx)
    for server in "${order[@]}"; do
      port="$nginx_tls"
      [ "$server" = canopy ] && port="$canopy_tls"
      # shellcheck disable=SC2086 # the command and its mode are two words
      value="$(set -- $command; "$1" "$port" ${2:-})"
      if [ "$server" = nginx ]; then n+=("$value"); else c+=("$value"); fi
    done
    echo "    round $round: nginx ${n[-1]}, canopy ${c[-1]}" >&2
  done
  results+=("$name|$(median "${n[@]}")|$(median "${c[@]}")")
done

echo
echo "median of $rounds rounds of ${duration}s, $cores cores, nginx workers = canopy event loops = $cores, ECDSA P-256, TLS 1.3"
printf '%-24s %12s %12s %7s\n' row nginx canopy ratio
for r in "${results[@]}"; do
  IFS='|' read -r name nv cv <<<"$r"
  printf '%-24s %12s %12s %7s\n' "$name" "$nv" "$cv" "$(python3 -c "print(f'{$cv/max($nv,1):.2f}x')")"
done
