# Shared by bench.sh and redbot.sh, which serve the same files with nginx and with Canopy's edge.
# Sourced (not run) from the repository root, under `set -euo pipefail`.

# A port nothing listens on now (other tools on this machine may hold fixed ones).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Builds canopy-bench-serve (release) into $bin, makes a scratch folder $work (prefix $1), and
# stops every process recorded in $pids, and removes their files, when the script exits.
# CANOPY_BENCH_BIN=path runs that canopy-bench-serve instead (another build, for a before/after).
compare_setup() { # work-prefix
  if [ -n "${CANOPY_BENCH_BIN:-}" ]; then
    bin="$CANOPY_BENCH_BIN"
  else
    echo "==> Building canopy-bench-serve (release)" >&2
    # .build-release, shared with bench-tls.sh, so that a debug build in .build is not locked meanwhile.
    swift build -c release --product canopy-bench-serve --scratch-path .build-release >/dev/null
    bin="$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy-bench-serve"
  fi
  work="$(mktemp -d "/tmp/$1.XXXXXX")"
  pids=()
  trap compare_cleanup EXIT
}

compare_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for pid in "${pids[@]}"; do rm -rf "${TMPDIR:-/tmp}/canopy-bench-store-$pid"; done
  rm -rf "$work" 2>/dev/null || true
}

# Serves $work/nginx-site with nginx on 127.0.0.1:PORT (workers, then extra `http` directives);
# its master's pid is $nginx_master.
start_nginx() { # workers port directives
  mkdir -p "$work/nginx/logs"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
$3
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$2;
        root $work/nginx-site;
    }
}
CONF
  chmod -R a+rX "$work" # nginx workers run as nobody
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
  $sudo nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  nginx_master=$!
  pids+=("$nginx_master")
}
