#!/usr/bin/env bats
# The zero-copy path (src/splice.c): bulk connections echo through pipes from a bounded pool.
# ECHOD_SPLICE=on gives every connection a pipe from its first byte, ECHOD_SPLICE_PIPES sizes
# the pool, --buffer-size sizes each pipe. Whether a connection spliced shows in echod's fds:
# the pool's pipes, two fds each, are made when first lent and kept for reuse.
# tests/run-all also reruns core.bats and reliability.bats with ECHOD_SPLICE=on and =off.

load '../helpers/common'
bats_require_minimum_version 1.5.0

ECHO_BENCH=$BUILD/src/bench/echo-bench
STRESS=$HELPERS/stress.py

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
}

# The pipe fds process $1 holds.
pipe_fds() {
        local n=0 fd
        for fd in "/proc/$1/fd/"*; do
                [[ "$(readlink "$fd" 2>/dev/null)" == pipe:* ]] && n=$((n + 1))
        done
        echo "$n"
}

# bench ARGS...: echo-bench --json against echod; every connection must come back intact.
bench_ok() {
        run --separate-stderr "$ECHO_BENCH" --json -q -t 60 "$@" 127.0.0.1 "$PORT"
        assert_success
        "$PY" -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["failed"] == 0 and d["differed"] == 0 and d["ok"] > 0, d' "$output"
}

# max_pipe_fds_while PID CMD...: runs CMD in the background (output in $BATS_TEST_TMPDIR/bg.out),
# samples PID's pipe fds until CMD exits (60 s at most) and once after; prints the largest count and leaves
# CMD's exit status in $BATS_TEST_TMPDIR/bg.status (this runs in a $(...) subshell).
max_pipe_fds_while() {
        local pid=$1 max=0 n bg deadline=$((SECONDS + 61))
        shift
        "$@" >"$BATS_TEST_TMPDIR/bg.out" 2>&1 &
        bg=$!
        track_pid "$bg"
        while ! pid_gone "$bg" && [ "$SECONDS" -lt "$deadline" ]; do
                n=$(pipe_fds "$pid")
                [ "$n" -le "$max" ] || max=$n
                sleep 0.01
        done
        # Once more after the end: the pool keeps what it made, so a short run still shows.
        n=$(pipe_fds "$pid")
        [ "$n" -le "$max" ] || max=$n
        local status=0
        wait "$bg" || status=$?
        echo "$status" >"$BATS_TEST_TMPDIR/bg.status"
        echo "$max"
}

@test "a stream 5000 times the pipe's size comes back intact through one pipe" {
        ECHOD_SPLICE=on ECHOD_SPLICE_PIPES=1 echod_start --buffer-size 4096 "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        bench_ok stream -c 1 -b 20480000 -s 65536
        # One pipe was made, used and kept.
        [ "$(pipe_fds "$ECHOD_PID")" -eq $((base + 2)) ]
        bench_ok stream -c 1 -b 3000001 -s 1000
        [ "$(pipe_fds "$ECHOD_PID")" -eq $((base + 2)) ]
        echod_stop
}

@test "auto: small messages keep the ring, a bulk stream takes a pipe" {
        ECHOD_SPLICE=auto echod_start "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        bench_ok pingpong -n 300
        bench_ok connrate -n 200 -c 8
        [ "$(pipe_fds "$ECHOD_PID")" -eq "$base" ]
        bench_ok stream -c 1 -b 20000000
        [ "$(pipe_fds "$ECHOD_PID")" -eq $((base + 2)) ]
        echod_stop
}

@test "ECHOD_SPLICE=off: no pipe, ever" {
        ECHOD_SPLICE=off echod_start "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        bench_ok stream -c 2 -b 20000000
        [ "$(pipe_fds "$ECHOD_PID")" -eq "$base" ]
        echod_stop
}

@test "a pool of 2 and 8 bulk clients at once: two splice, the rest keep the ring, all intact" {
        ECHOD_SPLICE=on ECHOD_SPLICE_PIPES=2 echod_start "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        max=$(max_pipe_fds_while "$ECHOD_PID" "$ECHO_BENCH" --json -q -t 60 stream -c 8 -b 8000000 127.0.0.1 "$PORT")
        cat "$BATS_TEST_TMPDIR/bg.out"
        [ "$(cat "$BATS_TEST_TMPDIR/bg.status")" = 0 ]
        grep -q '"ok": 8, "failed": 0, "differed": 0' "$BATS_TEST_TMPDIR/bg.out"
        echo "# pipe fds: $base before, at most $max during" >&3
        [ "$max" -eq $((base + 4)) ]
        # Random pieces, pauses and half-closes, more clients than pipes.
        run "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 12 --bytes 2097152 --max-piece 300000 \
                --max-delay 0.01 --timeout 60
        assert_success
        assert_line --regexp '^12 of 12 clients intact'
        [ "$(pipe_fds "$ECHOD_PID")" -le $((base + 4)) ]
        echod_stop
}

@test "--max-memory counts the pipes: room for one, so one stream splices, the others do without" {
        # 256 KiB of budget: one pipe of the default size, then neither pipe nor ring.
        ECHOD_SPLICE=on echod_start --max-memory 262144 "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        max=$(max_pipe_fds_while "$ECHOD_PID" "$ECHO_BENCH" --json -q -t 60 stream -c 4 -b 4000000 127.0.0.1 "$PORT")
        cat "$BATS_TEST_TMPDIR/bg.out"
        [ "$(cat "$BATS_TEST_TMPDIR/bg.status")" = 0 ]
        grep -q '"ok": 4, "failed": 0, "differed": 0' "$BATS_TEST_TMPDIR/bg.out"
        [ "$max" -eq $((base + 2)) ]
        echod_stop
}

@test "half-close with bytes still in the pipe: all of them, then EOF" {
        ECHOD_SPLICE=on echod_start -v "127.0.0.1:$PORT"
        # The clients send everything and half-close before reading a byte.
        run "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 6 --bytes 1048576 --max-piece 65536 \
                --read-delay 0.5 --timeout 60
        assert_success
        assert_line --regexp '^6 of 6 clients intact'
        [ "$(grep -c '^closed connection from .*: 1048576 bytes echoed$' "$ECHOD_OUT")" -eq 6 ]
        [ "$(pipe_fds "$ECHOD_PID")" -gt 0 ]
        echod_stop
}

@test "SIGTERM in the middle of spliced streams: every pending byte is flushed, exit 0" {
        ECHOD_SPLICE=on echod_start --drain-timeout 60 "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 8 --bytes 4194304 --max-piece 65536 \
                --read-delay 0.3 --read-rate 4000000 --progress-at 0.3 --timeout 60 >"$BATS_TEST_TMPDIR/term.out" 2>&1 &
        stress=$!
        track_pid "$stress"
        wait_for_line "$BATS_TEST_TMPDIR/term.out" '^progress' 30
        # The streams are spliced when the signal comes.
        [ "$(pipe_fds "$ECHOD_PID")" -ge $((base + 2)) ]
        kill -TERM "$ECHOD_PID"
        wait_gone "$stress" 60
        status=0
        wait "$stress" || status=$?
        cat "$BATS_TEST_TMPDIR/term.out"
        [ "$status" = 0 ]
        grep -q '^8 of 8 clients intact' "$BATS_TEST_TMPDIR/term.out"
        wait_gone "$ECHOD_PID" 10
        status=0
        wait "$ECHOD_PID" || status=$?
        [ "$status" = 0 ]
        assert_no_sanitizer_report "$ECHOD_ERR"
}

@test "slow readers on spliced connections: echod's memory stays flat, all intact" {
        # ASan keeps freed blocks in quarantine (256 MiB by default), which would measure ASan.
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
        ECHOD_SPLICE=on echod_start "127.0.0.1:$PORT"
        base=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ECHOD_PID/status")
        pipes=$(pipe_fds "$ECHOD_PID")
        # 12 clients x 8 MiB, read at 1 MB/s each after 1 s: far more than pipes and sockets
        # hold. 12 pipes fit in the pool even under a 1024-fd limit (16 pipes).
        max=$(max_pipe_fds_while "$ECHOD_PID" "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 12 \
                --bytes 8388608 --max-piece 65536 --read-delay 1 --read-rate 1000000 --timeout 120)
        cat "$BATS_TEST_TMPDIR/bg.out"
        [ "$(cat "$BATS_TEST_TMPDIR/bg.status")" = 0 ]
        grep -q '^12 of 12 clients intact' "$BATS_TEST_TMPDIR/bg.out"
        peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$ECHOD_PID/status")
        echo "# RSS at start ${base} kB, peak ${peak} kB; pipe fds ${pipes} before, at most ${max} during" >&3
        # Every client spliced, so no ring was filled: 12 rings of 256 KiB would be 3 MiB.
        [ "$max" -eq $((pipes + 24)) ]
        [ "$peak" -le $((base + 2048)) ]
        echod_stop
}

@test "-vv with ECHOD_SPLICE=on: the trace reads 16 bytes at a time, through the ring" {
        ECHOD_SPLICE=on echod_start -vv "127.0.0.1:$PORT"
        base=$(pipe_fds "$ECHOD_PID")
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        wait_for_line "$ECHOD_OUT" '^closed connection from '
        grep -q "^received b'This is the mess'$" "$ECHOD_OUT"
        [ "$(pipe_fds "$ECHOD_PID")" -eq "$base" ]
        echod_stop
}

@test "idle timeout on a spliced connection that stalls with bytes in its pipe" {
        ECHOD_SPLICE=on echod_start -v --idle-timeout 1 "127.0.0.1:$PORT"
        run "$PY" "$STRESS" idle 127.0.0.1 "$PORT" --idle-timeout 1
        assert_success
        assert_line --regexp '^stalled client: closed by the server'
        assert_line --regexp '^trickling client: open for 3.0 s, all [0-9]+ bytes back'
        echod_stop
}

@test "bad ECHOD_SPLICE or ECHOD_SPLICE_PIPES: one line, exit status 2" {
        ECHOD_SPLICE=yes run --separate-stderr "$ECHOD" "127.0.0.1:$PORT"
        assert_failure 2
        [ "$stderr" = "echod: invalid value for ECHOD_SPLICE: 'yes' (expected auto, on or off)" ]
        ECHOD_SPLICE_PIPES=-1 run --separate-stderr "$ECHOD" "127.0.0.1:$PORT"
        assert_failure 2
        [ "$stderr" = "echod: invalid value for ECHOD_SPLICE_PIPES: '-1' (expected a whole number from 0 to 65536)" ]
}
