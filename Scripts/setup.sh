#!/usr/bin/env bash
# Installs the system packages Canopy needs (as root, with apt) when any is missing.
# Sourced by demo.sh, test.sh and bench.sh; safe to run again.
set -euo pipefail

canopy_packages=(libgit2-dev libmaxminddb-dev pkg-config libsqlite3-dev zlib1g-dev git curl ca-certificates "$@")

missing=()
for pkg in "${canopy_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6 first" >&2; exit 1; }
