#!/usr/bin/env bash
# Sets up and runs the Canopy demo: builds release, makes a git repository from amplify-sample with
# branches main, dev and feature/hello, starts `canopy serve` with Sites/sample.yml and prints the URLs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash Scripts/setup.sh

PORT=${CANOPY_DEMO_PORT:-8080}
ADMIN_PORT=${CANOPY_DEMO_ADMIN_PORT:-8081}
demo=$root/.canopy/demo
data=$demo/data

echo "==> Building canopy (release)"
swift build -c release --scratch-path .build-release --product canopy 2>&1 | tail -1
canopy=$(swift build -c release --scratch-path .build-release --show-bin-path)/canopy

echo "==> Making the demo repository from amplify-sample/"
rm -rf "$demo"
mkdir -p "$demo/repos" "$data"
"$canopy" repo init "$demo/repos/sample.git" --data "$data" >/dev/null
work=$demo/work
mkdir -p "$work"
cp -R amplify-sample/. "$work"/
rm -rf "$work/dist" "$work/reports" "$work/.cache"
git() { command git -C "$work" -c user.name="Canopy Demo" -c user.email=demo@canopy.localhost "$@"; }
git init -q -b main
git add -A
git commit -qm "Sample site"
git remote add canopy "$demo/repos/sample.git"
git push -q canopy main
git checkout -q -b dev
sed -i 's#<h1>Hello from branch#<h1>Dev says hello from branch#' "$work/src/index.html"
git commit -qam "Dev: a different greeting"
git push -q canopy dev
git checkout -q -b feature/hello main
sed -i 's#<h1>Hello from branch#<h1>A preview says hello from branch#' "$work/src/index.html"
git commit -qam "Preview: another greeting"
git push -q canopy feature/hello
git checkout -q main

# As root, builds run as an unprivileged system user rather than as root.
build_user=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id -u canopy-build >/dev/null 2>&1; then
    echo "==> Creating the system user canopy-build, which builds run as"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin canopy-build
  fi
  build_user=(--build-user canopy-build)
fi

echo "==> Starting canopy serve on port $PORT (admin on 127.0.0.1:$ADMIN_PORT)"
"$canopy" serve --sites Sites --data "$data" --listen "0.0.0.0:$PORT" --admin "127.0.0.1:$ADMIN_PORT" \
  "${build_user[@]}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM

hosts=(sample.localhost dev.sample.localhost feature-hello.preview.sample.localhost)
for host in "${hosts[@]}"; do
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "http://127.0.0.1:$PORT/" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  echo "    $host: HTTP $code"
done

cat <<MSG

Canopy is serving the demo. Open:
  http://sample.localhost:$PORT/                        (branch main)
  http://dev.sample.localhost:$PORT/                    (branch dev)
  http://feature-hello.preview.sample.localhost:$PORT/  (preview of feature/hello)

Try a push:  cd $work && sed -i 's/Hello/Howdy/' src/index.html && git commit -qam howdy && git push canopy main
Status:      $canopy status --data $data
Stop:        Ctrl-C
MSG
wait $server
