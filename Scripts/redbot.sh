#!/usr/bin/env bash
# Runs REDbot (https://redbot.org, `pip install redbot`) against an HTML page, a CSS file and an
# image served by Canopy and by nginx from the same files, prints the problems (WARN/BAD notes)
# each has, and the ones Canopy has that nginx does not. Over HTTPS (both servers with the same
# certificate for localhost) curl -v compares the handshake (TLS version, ALPN h2 and http/1.1, the
# certificate verified) and the response fields. Exits 1 when Canopy has a BAD note nginx lacks, or
# an HTTPS answer that differs in handshake or status.
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

for server in nginx canopy; do
  port=$nginx_port tls=$nginx_tls
  [ "$server" = canopy ] && port=$canopy_port tls=$canopy_tls
  for path in /index.html /style.css /image.png; do
    redbot -o har "http://127.0.0.1:$port$path" >"$work/$server-${path#/}.har" 2>"$work/$server-${path#/}.err" || true
    # REDbot resolves names with its own DNS client (not /etc/hosts) and sends no SNI to an IP
    # address, so over HTTPS the same responses are checked with curl -v: the handshake (TLS
    # version, ALPN, the certificate verified against the test CA) and the response's fields,
    # over HTTP/1.1 and HTTP/2, from both servers.
    for version in --http1.1 --http2; do
      curl -sv "$version" --cacert "$work/cert.pem" --resolve "localhost:$tls:127.0.0.1" -H 'Accept-Encoding: gzip' \
        -o /dev/null "https://localhost:$tls$path" >"$work/$server-https$version-${path#/}.curl" 2>&1 || true
    done
  done
done

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def notes(server, name):
    path = os.path.join(work, "%s-%s.har" % (server, name))
    try:
        entries = json.load(open(path))["log"]["entries"]
        if not entries:
            raise ValueError("no response was checked")
    except Exception as e:
        return {("BAD", "REDBOT_FAILED"): "REDbot produced no result: %s %s" % (e, open(path[:-4] + ".err").read().strip())}
    found = {}
    for entry in entries:
        for n in entry.get("_red_messages", []):
            if n["level"] in ("WARN", "BAD"):
                found[(n["level"], n["note_id"])] = n["summary"]
    return found
bad_only_canopy = False
for name in ("index.html", "style.css", "image.png"):
    print("== http://127.0.0.1/%s (REDbot)" % name)
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
# HTTPS with curl -v: what each server negotiated and which response fields it sent.
def curl(server, version, name):
    text = open(os.path.join(work, "%s-https%s-%s.curl" % (server, version, name)), errors="replace").read()
    facts = {
        "verified": "SSL certificate verify ok" in text,
        "tls": next((l.split("using ")[1].split(" /")[0] for l in text.splitlines() if "SSL connection using" in l), "?"),
        "alpn": next((l.split("server accepted ")[1].strip() for l in text.splitlines() if "ALPN: server accepted" in l), "?"),
        "status": next((l.split()[2] for l in text.splitlines() if l.startswith("< HTTP/")), "?"),
    }
    fields = {l[2:].split(":")[0].lower() for l in text.splitlines() if l.startswith("< ") and ":" in l and not l.startswith("< HTTP")}
    return facts, fields - {"date", "server", "accept-ranges", "x-content-type-options", "vary"}
for name in ("index.html", "style.css", "image.png"):
    for version in ("--http1.1", "--http2"):
        (nf, nfields), (cf, cfields) = curl("nginx", version, name), curl("canopy", version, name)
        print("== https://localhost/%s %s (curl -v)" % (name, version[2:]))
        print("  nginx:  %s" % nf)
        print("  canopy: %s" % cf)
        missing = sorted(nfields - cfields)
        print("  fields nginx sends that canopy does not: %s" % (", ".join(missing) or "none"))
        if not cf["verified"] or cf["status"] != "200" or cf["alpn"] != nf["alpn"]:
            print("  PROBLEM: canopy's HTTPS answer differs from nginx's in its handshake or status")
            bad_only_canopy = True
sys.exit(1 if bad_only_canopy else 0)
PY
