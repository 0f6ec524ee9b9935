# tests/helpers/common.bash - shared by every Bats file: `load '../helpers/common'`.
# Starts the real binaries of $ECHOD_BUILD (default ./build), waits for readiness with a bounded
# wait, and ends every process it started, by PID, in teardown.

bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
# shellcheck source=tests/helpers/proc.bash
source "$(dirname "${BASH_SOURCE[0]}")/proc.bash"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${ECHOD_BUILD:-$ROOT/build}
ECHOD=$BUILD/src/echod
ECHO_CLIENT=$BUILD/src/echo-client
PY=/usr/bin/python3
HELPERS=$ROOT/tests/helpers
TRACKED_PIDS=()

# Remembers a PID for teardown_tracked.
track_pid() {
        TRACKED_PIDS+=("$1")
}

# Ends every tracked process still alive: TERM, a bounded wait, then KILL.
teardown_tracked() {
        local pid
        for pid in "${TRACKED_PIDS[@]}"; do
                kill -TERM "$pid" 2>/dev/null || continue
                wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
        done
        TRACKED_PIDS=()
}

# Waits at least $2 seconds (default 5; SECONDS counts whole seconds, so up to 1 s more) for PID $1 to exit.
wait_gone() {
        local pid=$1 deadline=$((SECONDS + ${2:-5} + 1))
        while ! pid_gone "$pid"; do
                [ "$SECONDS" -lt "$deadline" ] || return 1
                sleep 0.02
        done
}

# Prints how many lines of FILE $1 match regex $2 (0 when the file does not exist yet).
count_lines() {
        local n
        n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
        echo "${n:-0}"
}

# Waits up to $3 seconds (default 5) until FILE $1 has at least ${4:-1} lines matching regex $2.
wait_for_line() {
        local file=$1 re=$2 deadline=$((SECONDS + ${3:-5} + 1)) want=${4:-1}
        while [ "$(count_lines "$file" "$re")" -lt "$want" ]; do
                if [ "$SECONDS" -ge "$deadline" ]; then
                        echo "timed out waiting for '$re' in $file:" >&2
                        cat "$file" >&2 || true
                        return 1
                fi
                sleep 0.02
        done
}

# echod_start [-n LINES] ARGS... : starts echod in the background (stdout in $ECHOD_OUT, stderr
# in $ECHOD_ERR), waits until it printed LINES (default 1) "starting up on" lines, sets ECHOD_PID.
# ECHOD_WRAP, if set, is a command that execs echod in the same process (prlimit, valgrind).
echod_start() {
        local lines=1
        if [ "$1" = -n ]; then lines=$2; shift 2; fi
        ECHOD_OUT=$BATS_TEST_TMPDIR/echod.out
        ECHOD_ERR=$BATS_TEST_TMPDIR/echod.err
        # shellcheck disable=SC2086 # ECHOD_WRAP is a command line to split
        ${ECHOD_WRAP:-} "$ECHOD" "$@" >"$ECHOD_OUT" 2>"$ECHOD_ERR" 3>&- &
        ECHOD_PID=$!
        track_pid "$ECHOD_PID"
        local deadline=$((SECONDS + ${ECHOD_START_TIMEOUT:-10} + 1))
        while [ "$(count_lines "$ECHOD_OUT" '^starting up on ')" -lt "$lines" ]; do
                if pid_gone "$ECHOD_PID"; then
                        echo "echod exited before it was ready:" >&2
                        cat "$ECHOD_ERR" >&2
                        return 1
                fi
                if [ "$SECONDS" -ge "$deadline" ]; then
                        echo "echod not ready after ${ECHOD_START_TIMEOUT:-10} s" >&2
                        cat "$ECHOD_OUT" "$ECHOD_ERR" >&2
                        return 1
                fi
                sleep 0.02
        done
}

# Sends SIGTERM to echod, waits (bounded) and asserts exit status 0 and no sanitizer report.
echod_stop() {
        local status=0
        if ! kill -TERM "$ECHOD_PID"; then
                wait "$ECHOD_PID" || status=$?
                echo "echod (pid $ECHOD_PID) had already exited with status $status; its stderr:" >&2
                cat "$ECHOD_ERR" >&2
                return 1
        fi
        wait_gone "$ECHOD_PID" "${1:-15}" || { echo "echod did not exit after SIGTERM" >&2; return 1; }
        wait "$ECHOD_PID" || status=$?
        if [ "$status" != 0 ]; then
                echo "echod exited with status $status:" >&2
                cat "$ECHOD_ERR" >&2
                return 1
        fi
        assert_no_sanitizer_report "$ECHOD_ERR"
}

assert_no_sanitizer_report() {
        if grep -qE 'Sanitizer|runtime error:' "$1"; then
                echo "sanitizer report in $1:" >&2
                cat "$1" >&2
                return 1
        fi
}
