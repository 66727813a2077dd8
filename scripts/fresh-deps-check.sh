#!/usr/bin/env bash
# Builds and documents the sdk the way a new consumer first gets it: with the newest versions of
# its dependencies that its requirements allow (a fresh resolve, not this repository's
# Cargo.lock), warnings as errors (CI runs it; README.md, "Versions and releases").
#
#   scripts/fresh-deps-check.sh
#
# 1. `cargo update` on a copy of the lock file: Cargo.lock is put back on exit, whatever
#    happens, so the checkout stays as it was.
# 2. `RUSTFLAGS=-D warnings cargo build -p atlas-network-peering`: a dependency's new
#    deprecation, say, fails here before a consumer's `-D warnings` build meets it.
# 3. `RUSTDOCFLAGS=-D warnings cargo doc -p atlas-network-peering --no-deps`: broken or private
#    intra-doc links, bad doc markup.
#
# Builds in $CARGO_TARGET_DIR/fresh-deps (default: target/fresh-deps of the repository): other
# RUSTFLAGS and other dependency versions would otherwise evict the main build's artifacts and
# make the next `cargo test` rebuild them. The workspace's `[profile.dev]` applies there as
# anywhere in the workspace. Prints how long each step took.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"

say() { echo "fresh-deps-check: $*"; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

saved="$(mktemp "${TMPDIR:-/tmp}/Cargo.lock.XXXXXX")"
cp Cargo.lock "$saved"
trap 'cp "$saved" Cargo.lock && rm -f "$saved"' EXIT

start="$(now)"
cargo update
say "cargo update: $(took "$start")"

export CARGO_TARGET_DIR="$target/fresh-deps"
start="$(now)"
RUSTFLAGS="-D warnings" cargo build -p atlas-network-peering
say "RUSTFLAGS=-D warnings cargo build -p atlas-network-peering: $(took "$start")"
start="$(now)"
RUSTFLAGS="-D warnings" RUSTDOCFLAGS="-D warnings" cargo doc -p atlas-network-peering --no-deps
say "RUSTDOCFLAGS=-D warnings cargo doc -p atlas-network-peering --no-deps: $(took "$start")"
