#!/usr/bin/env bash
# Packages the four released crates and builds a consumer from the packages, as another team
# gets them from a registry (CI runs it; README.md, "Versions and releases").
#
#   scripts/package-check.sh                  # package, verify, build and run the consumer
#   scripts/package-check.sh --allow-dirty    # the same with uncommitted changes (passed to cargo package)
#   PACKAGE_CHECK_FROM=path scripts/package-check.sh   # the consumer from this checkout's folders
#                                                      # instead (no packaging), to compare build times
#   PACKAGE_CHECK_CONSUMER_TARGET=DIR ...     # build the consumer in DIR (an empty DIR: a cold build)
#
# 1. `cargo package` of atlas-network-peering-codegen, atlas-network-peering,
#    atlas-network-peering-httpmock and atlas-network-peering-sim together, with verification:
#    each `.crate` is unpacked and built on its own, its dependencies on the others resolved
#    through cargo's temporary local registry, so a build that reads a file outside its package
#    (the spec, say) fails here.
# 2. Unpacks the `.crate` files into $CARGO_TARGET_DIR/package-check/ (default: target/ of the
#    repository), checks that the spec is inside the packages whose build reads it, and is the
#    top-level spec.
# 3. Builds scripts/package-consumer there, a crate outside this workspace that depends on the
#    crates by version requirement (`atlas-network-peering = "0.2.0"`); `[patch.crates-io]`
#    points those names at the unpacked packages, so cargo builds exactly what a registry would
#    serve, manifest included, with the newest compatible versions of every other dependency.
#    It runs the consumer (the in-process local Atlas, a client, two calls) and its test (the
#    typed mocks); each fails on a wrong answer.
#
# The verification builds and the consumer build into $CARGO_TARGET_DIR too, with the debug
# info settings of the workspace's `[profile.dev]` (a packaged crate has no profile of its own,
# and cargo's default, full debug info, would take another 2 GiB): they then share compiled
# dependencies with each other and with the workspace's own build. Prints how long each step took. Needs the network of a registry user
# (crates.io) for the dependencies.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"
from="${PACKAGE_CHECK_FROM:-package}"
crates=(atlas-network-peering-codegen atlas-network-peering atlas-network-peering-httpmock atlas-network-peering-sim)

say() { echo "package-check: $*"; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# A fixed folder, so that a second run reuses what the first compiled; under the target
# directory, so it is git-ignored and removed with the rest of the build.
work="$target/package-check"
rm -rf "$work"
mkdir -p "$work"

# One version for all four (the workspace's); `cargo pkgid` ends in `@VERSION` or `#VERSION`.
pkgid="$(cargo pkgid -p atlas-network-peering)"
version="${pkgid##*[#@]}"
say "version $version, from: $from"

# The workspace's [profile.dev] debug settings (top-level Cargo.toml), for builds outside it.
profile=(--config 'profile.dev.debug="line-tables-only"' --config 'profile.dev.package."*".debug=false')

declare -A source_of
case "$from" in
package)
    start="$(now)"
    args=()
    for c in "${crates[@]}"; do args+=(-p "$c"); done
    cargo "${profile[@]}" package "${args[@]}" "$@"
    say "cargo package (with verification) of ${crates[*]}: $(took "$start")"

    mkdir "$work/crates"
    for c in "${crates[@]}"; do
        file="$target/package/$c-$version.crate"
        [ -f "$file" ] || { say "no $file after cargo package"; exit 1; }
        # -m: the files get the time of unpacking. cargo stores one fixed old time in a .crate,
        # and a build of the unpacked folder would then pass for fresh after a change.
        tar -xzmf "$file" -C "$work/crates"
        source_of[$c]="$work/crates/$c-$version"
        say "$(basename "$file"): $(du -k "$file" | cut -f1) KiB, $(tar -tzf "$file" | wc -l) files"
    done
    # The spec travels inside the packages whose build script reads it, as a file.
    for c in atlas-network-peering atlas-network-peering-httpmock; do
        spec="${source_of[$c]}/spec/network-peering.yaml"
        [ -f "$spec" ] && [ ! -L "$spec" ] || { say "$c: no spec/network-peering.yaml in the package"; exit 1; }
        cmp -s "$spec" spec/network-peering.yaml || { say "$c: its packaged spec differs from spec/network-peering.yaml"; exit 1; }
    done
    ;;
path)
    source_of[atlas-network-peering-codegen]="$repo/codegen"
    source_of[atlas-network-peering]="$repo/sdk"
    source_of[atlas-network-peering-httpmock]="$repo/sdk-httpmock"
    source_of[atlas-network-peering-sim]="$repo/sim"
    ;;
*)
    say "PACKAGE_CHECK_FROM is 'package' or 'path', not '$from'"
    exit 2
    ;;
esac

consumer="$work/package-consumer"
cp -r scripts/package-consumer "$consumer"
cat >"$consumer/Cargo.toml" <<EOF
[package]
name = "package-consumer"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
atlas-network-peering = "$version"
atlas-network-peering-sim = "$version"
tokio = { version = "1", features = ["macros", "rt"] }

[dev-dependencies]
atlas-network-peering-httpmock = "$version"
httpmock = { version = "0.9", default-features = false }

# What a registry would serve, from the unpacked packages (or this checkout's folders).
[patch.crates-io]
$(for c in "${crates[@]}"; do echo "$c = { path = \"${source_of[$c]}\" }"; done)

[workspace]
EOF

export CARGO_TARGET_DIR="${PACKAGE_CHECK_CONSUMER_TARGET:-$target}"
# `cargo test` builds the binary with the test's features, so one build serves both.
start="$(now)"
cargo "${profile[@]}" test --manifest-path "$consumer/Cargo.toml" --no-run
say "consumer build (cargo test --no-run, from $from): $(took "$start")"
"$CARGO_TARGET_DIR/debug/package-consumer"
cargo "${profile[@]}" test --manifest-path "$consumer/Cargo.toml"
