#!/usr/bin/env bash
# The sample site's test phase: every page is stamped, and every local asset a page references exists.
set -euo pipefail
out=${1:-dist}
fail=0
mkdir -p reports
report="reports/check-report.txt"
: > "$report"
for page in $(cd "$out" && find . -name '*.html' | sort); do
  if grep -q '{{' "$out/$page"; then
    echo "FAIL $page: unreplaced template marker" | tee -a "$report"; fail=1
  fi
  for ref in $(grep -o '\(href\|src\)="/[^"]*"' "$out/$page" | sed 's/.*="\/\([^"]*\)"/\1/'); do
    target="$out/$ref"
    case "$ref" in ''|*/) target="$out/${ref}index.html" ;; esac
    if [ ! -e "$target" ] && [ ! -e "$target.html" ] && [ ! -e "$target/index.html" ]; then
      echo "FAIL $page: missing /$ref" | tee -a "$report"; fail=1
    fi
  done
done
if [ -n "${CANOPY_SAMPLE_FAIL_TESTS:-}" ]; then
  echo "FAIL forced by CANOPY_SAMPLE_FAIL_TESTS" | tee -a "$report"; fail=1
fi
[ $fail -eq 0 ] && echo "check.sh: all pages OK" | tee -a "$report"
exit $fail
