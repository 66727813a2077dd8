#!/usr/bin/env bash
# CI: a short, bounded cargo-fuzz run of every target in fuzz/ (docs/FUZZING.md, section CI).
#
#   scripts/fuzz-ci.sh                                  # 20 s per target
#   FUZZ_SECONDS=600 scripts/fuzz-ci.sh                 # longer
#   FUZZ_TARGETS="paging retry_after" scripts/fuzz-ci.sh  # some targets only
#   FUZZ_JOBS=1 scripts/fuzz-ci.sh                      # one target at a time
#
# 1. Installs what is missing: a C++ compiler (libFuzzer is C++), jq (only when neither jq nor
#    python3 is there; fuzz/seed-corpus.sh needs one) and cargo-fuzz $CARGO_FUZZ_VERSION.
# 2. Seeds fuzz/corpus/ from fixtures/ (fuzz/seed-corpus.sh).
# 3. Builds every target once: optimized, with debug assertions, with AddressSanitizer
#    (FUZZ_SANITIZER=none to build without), into fuzz/target/.
# 4. Runs each target (all of `cargo fuzz list`, or FUZZ_TARGETS) for FUZZ_SECONDS seconds,
#    FUZZ_JOBS targets at a time (default: the number of cores), and prints one line for each.
#
# Exits 1 if any target crashes (panic, failed check, sanitizer report), hangs (one input runs
# over 10 s, or the whole run goes 5 min over its time) or runs out of memory (RSS over
# 2048 MB, or one allocation over 2048 MB). The failing input is left in
# fuzz/artifacts/<target>/ and printed in hex; the fuzzer's whole output is in
# fuzz/artifacts/ci-logs/<target>.log. fuzz/target, fuzz/corpus and fuzz/artifacts are
# git-ignored. Installing needs root or sudo, like scripts/install-test-deps.sh.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$repo/fuzz"

seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-address}"
CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.2}"
timeout_s=10 # one input
rss_mb=2048  # the whole process (RSS), and any single allocation (-malloc_limit_mb)
case "$seconds" in '' | *[!0-9]*)
    echo "fuzz-ci: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
    exit 2
    ;;
esac

# -max_len per target (docs/FUZZING.md, "Running the fuzzers"); a target missing here runs
# with libFuzzer's default.
declare -A max_len=(
    [decode_responses]=16384
    [www_authenticate]=20000 # above MAX_HEADER_LEN, so that the length check is reached
    [retry_after]=256
    [paging]=4096
)
declare -A extra_args=(
    [paging]="-len_control=0" # its input is decoded into a scenario; short inputs are dull
)

say() { echo "fuzz-ci: $*"; }

# --- 1. What is needed ---------------------------------------------------------------------
started=$SECONDS
packages=()
command -v c++ >/dev/null 2>&1 || packages+=(g++)
command -v cc >/dev/null 2>&1 || packages+=(gcc)
if ! command -v jq >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
    packages+=(jq)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    # shellcheck source=scripts/lib/apt.sh
    . "$repo/scripts/lib/apt.sh"
    apt_install fuzz-ci "${packages[@]}"
fi

if cargo fuzz --version >/dev/null 2>&1; then
    have="$(cargo fuzz --version 2>/dev/null)"
    [ "$have" = "cargo-fuzz $CARGO_FUZZ_VERSION" ] ||
        say "note: using the installed $have (CI installs $CARGO_FUZZ_VERSION)"
else
    say "cargo install cargo-fuzz --locked --version $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
say "$(cargo fuzz --version), $(rustc --version), $(c++ --version | sed -n 1p)"
setup_time=$((SECONDS - started))

# --- 2. Seeds -----------------------------------------------------------------------------
"$fuzz/seed-corpus.sh"

# --- 3. Build -----------------------------------------------------------------------------
# cargo-fuzz passes nightly flags (-Zsanitizer, ...); RUSTC_BOOTSTRAP=1 lets stable take them.
# --target-dir keeps the build in fuzz/target even when CARGO_TARGET_DIR is set.
export RUSTC_BOOTSTRAP=1
build=(-O -a --sanitizer "$sanitizer" --target-dir "$fuzz/target")
cd "$fuzz"
started=$SECONDS
say "cargo fuzz build ${build[*]}"
cargo fuzz build "${build[@]}"
build_time=$((SECONDS - started))

# --- 4. Run -------------------------------------------------------------------------------
mapfile -t all < <(cargo fuzz list)
if [ "${#all[@]}" -eq 0 ]; then
    echo "fuzz-ci: cargo fuzz list found no targets in $fuzz" >&2
    exit 1
fi
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
    for target in "${targets[@]}"; do
        printf '%s\n' "${all[@]}" | grep -qx -- "$target" || {
            echo "fuzz-ci: no fuzz target '$target' (there are: ${all[*]})" >&2
            exit 2
        }
    done
else
    targets=("${all[@]}")
fi

logs="$fuzz/artifacts/ci-logs"
mkdir -p "$logs"
# Seconds after which a run that should take $seconds is killed as hung (start-up and loading
# a large corpus included).
watchdog=$((seconds + 300))

# Runs one target in the background: its output goes to $logs/<target>.log, its exit status
# to $logs/<target>.status. `timeout` makes itself a process group leader; its pid (in
# $logs/<target>.pid) is the group that stop_runs ends.
run_one() {
    local target="$1" status=0
    local args=(-max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb"
        -malloc_limit_mb="$rss_mb" -print_final_stats=1)
    [ -z "${max_len[$target]:-}" ] || args+=(-max_len="${max_len[$target]}")
    # shellcheck disable=SC2206 # word splitting of the extra flags is intended
    [ -z "${extra_args[$target]:-}" ] || args+=(${extra_args[$target]})
    timeout -k 30 "$watchdog" cargo fuzz run "${build[@]}" "$target" -- "${args[@]}" \
        >"$logs/$target.log" 2>&1 &
    echo "$!" >"$logs/$target.pid"
    wait "$!" || status=$?
    echo "$status" >"$logs/$target.status"
}
stop_runs() {
    local pidfile
    for pidfile in "$logs"/*.pid; do
        [ -e "$pidfile" ] && kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
    done
}
trap 'echo "fuzz-ci: interrupted" >&2; stop_runs; exit 130' INT TERM

jobs="${FUZZ_JOBS:-$(nproc)}"
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
say "running ${#targets[@]} targets for ${seconds} s each, $jobs at a time"
started=$SECONDS
running=0
for target in "${targets[@]}"; do
    mkdir -p "$fuzz/artifacts/$target"
    rm -f "$logs/$target".{log,status,pid}
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    touch "$logs/$target.start" # artifacts newer than this come from this run
    run_one "$target" &
    running=$((running + 1))
done
wait || true
rm -f "$logs"/*.pid
run_time=$((SECONDS - started))

# One of the numbers -print_final_stats=1 prints at the end of $log.
final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
failed=()
for target in "${targets[@]}"; do
    log="$logs/$target.log"
    stamp="$logs/$target.start"
    status="$(cat "$logs/$target.status" 2>/dev/null || echo unknown)"
    rm -f "$logs/$target.status"
    execs="$(final_stat number_of_executed_units)"
    rate="$(final_stat average_exec_per_sec)"
    rss="$(final_stat peak_rss_mb)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d ' ' -f 2 || true)"
    summary="${execs:-?} execs, ${rate:-?} execs/s, cov ${cov:-?}, peak RSS ${rss:-?} MB"

    if [ "$status" = 0 ]; then
        printf 'fuzz-ci: %-18s ok      %s\n' "$target" "$summary"
        rm -f "$stamp"
        continue
    fi
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then
        why="hang: still running after $watchdog s, killed"
    elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then
        why="hang: one input ran over $timeout_s s"
    elif grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then
        why="out of memory: over $rss_mb MB"
    elif grep -q 'ERROR: AddressSanitizer' "$log"; then
        why="AddressSanitizer: $(grep -m 1 -o 'ERROR: AddressSanitizer: [^ ]*' "$log" | cut -d ' ' -f 3)"
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then
        why="memory leak"
    elif grep -q 'panicked at' "$log"; then
        why="panic"
    elif grep -q 'ERROR: libFuzzer' "$log"; then
        why="$(grep -m 1 -o 'ERROR: libFuzzer: .*' "$log" | cut -c 8-)"
    else
        why="exit status $status"
    fi
    printf 'fuzz-ci: %-18s FAILED  %s (%s)\n' "$target" "$why" "$summary"
    failed+=("$target")
    # The report, from its first line (the panic message or sanitizer error) on.
    first="$(grep -n -m 1 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)' "$log" |
        cut -d : -f 1 || true)"
    echo "----- $log, from line ${first:-1} (at most 100 lines)"
    tail -n "+${first:-1}" "$log" | head -n 100 || true
    echo "-----"
    while IFS= read -r -d '' input; do
        echo "fuzz-ci: input $input ($(wc -c <"$input") bytes; first 2048 in hex):"
        head -c 2048 "$input" | od -An -v -tx1 | tr -d ' \n'
        echo
        echo "fuzz-ci: replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a --sanitizer $sanitizer $target ${input#"$fuzz"/}"
    done < <(find "$fuzz/artifacts/$target" -type f -newer "$stamp" -print0)
    rm -f "$stamp"
done

say "times: setup ${setup_time} s, build ${build_time} s, run ${run_time} s (${#targets[@]} targets x ${seconds} s, $jobs at a time)"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-ci: FAILED: ${failed[*]} (logs in $logs)" >&2
    exit 1
fi
say "all ${#targets[@]} targets ran ${seconds} s each without a crash, hang or out-of-memory"
