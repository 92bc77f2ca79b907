#!/usr/bin/env bash
# Runs REDbot (https://redbot.org, `pip install redbot`) against an HTML page, a CSS file and an
# image served by Canopy and by nginx from the same files, prints the problems (WARN/BAD notes)
# each has, and the ones Canopy has that nginx does not, over HTTP and over HTTPS (both servers with
# the same certificate for localhost, HTTP/2 by ALPN). Exits 1 when Canopy has a BAD note nginx lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/setup.sh nginx-light python3 curl openssl
# shellcheck source=Scripts/compare-common.sh
source Scripts/compare-common.sh
command -v redbot >/dev/null || python3 -m pip install -q redbot
nginx_port="${REDBOT_NGINX_PORT:-$(free_port)}"
canopy_port="${REDBOT_CANOPY_PORT:-$(free_port)}"
nginx_tls="$(free_port)" canopy_tls="$(free_port)"

compare_setup canopy-redbot

site="$work/site"
mkdir -p "$site"
python3 - "$site" <<'PY'
import os, struct, sys, zlib
site = sys.argv[1]
open(os.path.join(site, "index.html"), "w").write(
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>REDbot</title>"
    "<link rel=\"stylesheet\" href=\"/style.css\"></head><body>"
    + "<p>Checked by REDbot.</p>" * 40 + "<img src=\"/image.png\" alt=\"\"></body></html>\n")
open(os.path.join(site, "style.css"), "w").write(
    "".join(".c%d { color: #%06x; margin: %dpx; }\n" % (i, i * 4099 & 0xFFFFFF, i % 9) for i in range(400)))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
w, h = 32, 32
raw = b"".join(b"\x00" + b"".join(bytes((x * 8, y * 8, 128)) for x in range(w)) for y in range(h))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(os.path.join(site, "image.png"), "wb").write(png)
PY
cp -r "$site" "$work/nginx-site"
gzip -9 -k "$work/nginx-site/style.css" "$work/nginx-site/index.html"
# nginx keeps the mtime of the files; Canopy uses the commit time. Both are in the past.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -subj /CN=localhost -days 2 -addext "subjectAltName=DNS:localhost" 2>/dev/null
start_nginx 1 "$nginx_port" "    gzip_static on;
    gzip on;
    gzip_types text/css application/javascript;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:$nginx_tls ssl http2;  # nginx 1.22 (Debian 12) has no http2 directive
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        root $work/nginx-site;
    }"
# Canopy serves the hostnames REDbot sends: 127.0.0.1 (HTTP) and localhost (HTTPS, by SNI).
CANOPY_BENCH_TLS_PORT="$canopy_tls" CANOPY_BENCH_CERT="$work/cert.pem" CANOPY_BENCH_KEY="$work/key.pem" \
  "$bin" "$site" "$canopy_port" 1 127.0.0.1,localhost >"$work/canopy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  curl -s -o /dev/null "http://127.0.0.1:$canopy_port/" && curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
  sleep 0.2
done

# REDbot checks the certificate against the system's roots: trust the test certificate there.
export SSL_CERT_FILE="$work/cert.pem"
for server in nginx canopy; do
  port=$nginx_port tls=$nginx_tls
  [ "$server" = canopy ] && port=$canopy_port tls=$canopy_tls
  for path in /index.html /style.css /image.png; do
    redbot -o har "http://127.0.0.1:$port$path" >"$work/$server-${path#/}.har" 2>"$work/$server-${path#/}.err" || true
    redbot -o har "https://localhost:$tls$path" >"$work/$server-https-${path#/}.har" \
      2>"$work/$server-https-${path#/}.err" || true
  done
done

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def notes(server, name):
    path = os.path.join(work, "%s-%s.har" % (server, name))
    try:
        entries = json.load(open(path))["log"]["entries"]
    except Exception as e:
        return {("BAD", "REDBOT_FAILED"): "REDbot produced no result: %s %s" % (e, open(path[:-4] + ".err").read().strip())}
    found = {}
    for entry in entries:
        for n in entry.get("_red_messages", []):
            if n["level"] in ("WARN", "BAD"):
                found[(n["level"], n["note_id"])] = n["summary"]
    return found
bad_only_canopy = False
for name in ("index.html", "style.css", "image.png", "https-index.html", "https-style.css", "https-image.png"):
    print("== %s" % (("https://localhost/" + name[6:]) if name.startswith("https-") else "http://127.0.0.1/" + name))
    per = {s: notes(s, name) for s in ("nginx", "canopy")}
    for s in ("nginx", "canopy"):
        print("  %s: %d problem(s)" % (s, len(per[s])))
        for (level, note), summary in sorted(per[s].items()):
            print("    %-4s %-28s %s" % (level, note, summary))
    extra = {k: v for k, v in per["canopy"].items() if k[1] not in {n for _, n in per["nginx"]}}
    print("  canopy only: %s" % ("none" if not extra else ""))
    for (level, note), summary in sorted(extra.items()):
        print("    %-4s %-28s %s" % (level, note, summary))
        bad_only_canopy |= level == "BAD"
sys.exit(1 if bad_only_canopy else 0)
PY
