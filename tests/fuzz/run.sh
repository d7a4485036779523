#!/bin/sh
# Runs every fuzz target of tests/fuzz for a while, from its committed seed corpus.
#
#   tests/fuzz/run.sh [seconds-per-target] [target...]     (default: 20 s, every target)
#
# Installs cargo-fuzz when missing. Uses the stable toolchain with RUSTC_BOOTSTRAP=1 for the
# nightly flags cargo-fuzz needs. Each target runs alone (`-jobs=1`: one libFuzzer worker) on a
# temporary copy of tests/fuzz/corpus/<target>, so the repository stays clean. Prints one line per
# target; exits non-zero if any target crashed, naming the saved input (tests/fuzz/artifacts/).
#
# Environment: FUZZ_SANITIZER (none|address, default none: the code under test is safe Rust),
# FUZZ_ARGS (more libFuzzer flags), CARGO.
set -eu

secs=${1:-20}
[ $# -gt 0 ] && shift
case $secs in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target] [target...]" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cargo=${CARGO:-cargo}
san=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jm-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM

if ! "$cargo" fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    if ! "$cargo" install cargo-fuzz --locked --quiet >"$tmp/install.log" 2>&1; then
        cat "$tmp/install.log" >&2
        exit 1
    fi
fi

cd "$repo"
fuzz() { "$cargo" fuzz "$@"; }

# One build of every target up front; `cargo fuzz run` below then finds them fresh.
if ! fuzz build --fuzz-dir tests/fuzz -s "$san" >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    echo "fuzz: build failed" >&2
    exit 1
fi

if [ $# -eq 0 ]; then
    set -- $(fuzz list --fuzz-dir tests/fuzz)
fi

# The value of a libFuzzer `stat::name:` line, or of `key: N` on the last line matching $2.
stat() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1; }
field() { grep "$2" "$3" | tail -n 1 | sed -n "s/.* $1: *\([0-9]*\).*/\1/p"; }

failed=""
for t in "$@"; do
    # `-jobs=1`: libFuzzer forks one worker that logs to ./fuzz-0.log, so run it in a scratch dir.
    run="$tmp/$t"
    work="$run/corpus"
    mkdir -p "$work" "$here/artifacts/$t"
    if [ -d "$here/corpus/$t" ]; then
        cp -R "$here/corpus/$t/." "$work/"
    fi
    log="$run/fuzz-0.log"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    if (cd "$run" && fuzz run --fuzz-dir "$here" -s "$san" "$t" "$work" -- \
        -max_total_time="$secs" -jobs=1 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$here/artifacts/$t/" ${FUZZ_ARGS:-}) >"$run/cargo.log" 2>&1; then
        runs=$(stat number_of_executed_units "$log")
        rate=$(stat average_exec_per_sec "$log")
        ft0=$(field ft INITED "$log")
        ft1=$(field ft DONE "$log")
        cov=$(field cov DONE "$log")
        printf 'fuzz: %-12s ok  %9s runs  %6s/s  cov %5s  ft %5s (+%s new)\n' \
            "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft1:-?}" "$((${ft1:-0} - ${ft0:-0}))"
    else
        failed="$failed $t"
        echo "fuzz: $t FAILED" >&2
        [ -f "$log" ] || log="$run/cargo.log"
        # The panic, the backtrace frames in this repository, and where the input was saved.
        if grep -q "panicked at" "$log"; then
            grep -A 1 -m 1 "panicked at" "$log" >&2
            grep -B 1 "^ *at $repo/" "$log" | grep -v -e '^--$' -e libfuzzer-sys | head -n 8 >&2 || true
        else
            grep -E -A 8 "ERROR: libFuzzer|==ERROR" "$log" | head -n 20 >&2 || tail -n 30 "$log" >&2
        fi
        input=$(sed -n "s/.*Test unit written to \(.*\)/\1/p" "$log" | tail -n 1)
        if [ -n "$input" ]; then
            echo "fuzz: $t: input saved as $input" >&2
            echo "fuzz: reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz -s $san $t $input" >&2
            echo "fuzz: minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --fuzz-dir tests/fuzz -s $san $t $input" >&2
        fi
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed" >&2
    exit 1
fi
