#!/usr/bin/env bash
# Sets up what is missing and runs Canopy's whole test suite: formatting, build, unit and
# end-to-end tests (real git repositories, real pushes, real HTTP, a real browser).
# Extra arguments go to `swift test` (e.g. --filter PushToDeployTests).
set -euo pipefail
cd "$(dirname "$0")/.."
# npm for the build-tool tests, from Debian unless a node install (NodeSource's) already has it.
node_packages=()
command -v npm >/dev/null || node_packages+=(npm)
bash Scripts/setup.sh chromium chromium-driver python3 python3-pip "${node_packages[@]}" nghttp2-client curl openssl \
  pebble bind9 libmaxmind-db-writer-perl

echo "==> swift format lint"
swift format lint --strict --recursive Package.swift Sources Tests

echo "==> swift build --build-tests"
swift build --build-tests

echo "==> swift test"
# Tests that hold hundreds of connections share one process with the rest: lift the soft
# descriptor limit to the hard one (stock Debian's soft limit is 1024), as `canopy serve` does.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export CANOPY_BIN="$PWD/.build/debug/canopy"
if [ "$#" -gt 0 ]; then
  swift test --skip-build "$@"
else
  # Two runs: the module tests, then the end-to-end tests. The end-to-end tests' clients (git, curl,
  # raw sockets) block threads of the cooperative pool, which on two cores starved the module tests'
  # in-process servers past their deadlines when both ran in one process.
  swift test --skip-build --skip EndToEndTests
  swift test --skip-build --filter EndToEndTests
fi
