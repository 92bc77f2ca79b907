#!/usr/bin/env bash
# Sets up what is missing and runs Canopy's whole test suite: formatting, build, unit, end-to-end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh chromium chromium-driver python3

echo "==> swift format lint"
swift format lint --strict --recursive Package.swift Sources Tests

echo "==> swift build --build-tests"
swift build --build-tests 2>&1 | grep -v '^\[' || true
swift build --build-tests >/dev/null

echo "==> swift test"
export CANOPY_BIN="$PWD/.build/debug/canopy"
swift test --skip-build "$@"
