#!/usr/bin/env bash
# Lints spec/network-peering.yaml with two independent OpenAPI linters: Redocly CLI with its
# `recommended` rules and Spectral with `spectral:oas`. Fails on any error (warnings are
# printed, not fatal). The linters are npm packages, pinned and installed once into
# $LINT_SPEC_DIR (default: target/lint-spec, git-ignored with target/); needs node and npm.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${LINT_SPEC_DIR:-$repo/target/lint-spec}"
spec="$repo/spec/network-peering.yaml"
REDOCLY_VERSION=2.77.0
SPECTRAL_VERSION=6.16.3

if ! command -v npm >/dev/null 2>&1; then
    echo "lint-spec: npm is needed (Debian: apt-get install nodejs npm)" >&2
    exit 2
fi
mkdir -p "$dir"
if [ ! -x "$dir/node_modules/.bin/redocly" ] || [ ! -x "$dir/node_modules/.bin/spectral" ] ||
    [ "$(cat "$dir/versions" 2>/dev/null)" != "$REDOCLY_VERSION $SPECTRAL_VERSION" ]; then
    echo "lint-spec: installing @redocly/cli@$REDOCLY_VERSION and @stoplight/spectral-cli@$SPECTRAL_VERSION"
    (cd "$dir" && [ -f package.json ] || npm init -y >/dev/null)
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
        "@redocly/cli@$REDOCLY_VERSION" "@stoplight/spectral-cli@$SPECTRAL_VERSION")
    echo "$REDOCLY_VERSION $SPECTRAL_VERSION" >"$dir/versions"
fi

echo "lint-spec: redocly lint --extends=recommended"
"$dir/node_modules/.bin/redocly" lint --extends=recommended "$spec" 2>&1 |
    grep -v -e '║' -e '╔' -e '╚' || true
# `redocly lint` exits non-zero on errors only; run again for its status without the banner.
"$dir/node_modules/.bin/redocly" lint --extends=recommended --format=summary "$spec" >/dev/null 2>&1

echo "lint-spec: spectral lint (spectral:oas)"
printf 'extends: ["spectral:oas"]\n' >"$dir/.spectral.yaml"
"$dir/node_modules/.bin/spectral" lint --ruleset "$dir/.spectral.yaml" --fail-severity=error "$spec"
echo "lint-spec: no errors"
