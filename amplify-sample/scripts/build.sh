#!/usr/bin/env bash
# Builds the sample site: copies src/ to dist/, fingerprints CSS and JS (name.<hash>.ext, served with
# a one-year immutable Cache-Control), and stamps every page with the branch, commit and build time.
set -euo pipefail
src=${1:-src}
out=${2:-dist}
rm -rf "$out"
mkdir -p "$out"
cp -R "$src"/. "$out"/

branch=${AWS_BRANCH:-local}
commit=${AWS_COMMIT_ID:-0000000}
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Fingerprint assets and remember the renames.
declare -a renames=()
while IFS= read -r -d '' f; do
  rel=${f#"$out"/}
  hash=$(sha256sum "$f" | cut -c1-10)
  base=${rel%.*}
  ext=${rel##*.}
  mv "$f" "$out/$base.$hash.$ext"
  renames+=("$rel|$base.$hash.$ext")
done < <(find "$out/assets" -type f \( -name '*.css' -o -name '*.js' \) -print0)

# Stamp pages and point them at the fingerprinted names.
while IFS= read -r -d '' page; do
  for r in "${renames[@]}"; do
    from=${r%%|*}
    to=${r##*|}
    sed -i "s#/$from\"#/$to\"#g" "$page"
  done
  sed -i -e "s#{{BRANCH}}#${branch//#/\\#}#g" -e "s#{{COMMIT}}#${commit:0:7}#g" \
    -e "s#{{BUILT}}#$built#g" -e "s#{{TITLE}}#${SITE_TITLE:-Canopy}#g" "$page"
done < <(find "$out" -name '*.html' -print0)
echo "build.sh: $branch@${commit:0:7} -> $out"
