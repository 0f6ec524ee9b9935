#!/usr/bin/env bats
# echo-client beyond the seed's exchange: -f streaming far past its 1 MiB window, and servers
# that change one byte deep in the stream.

load '../helpers/common'

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
}

# odd_start ARGS...: starts tests/helpers/odd_echo.py PORT ARGS... and waits for its "ready".
odd_start() {
        local out=$BATS_TEST_TMPDIR/odd.out
        "$PY" "$HELPERS/odd_echo.py" "$PORT" "$@" >"$out" 2>&1 3>&- &
        track_pid $!
        wait_for_line "$out" '^ready$'
}

@test "-f: 40 MiB from a file and 40 MiB from a pipe, 40 times the window, come back intact" {
        head -c 41943040 /dev/urandom >"$BATS_TEST_TMPDIR/big.bin"
        echod_start "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -t 10 -f "$BATS_TEST_TMPDIR/big.bin" 127.0.0.1 "$PORT"
        assert_success
        assert_line "received 41943040 bytes, identical to what was sent"
        run --separate-stderr bash -c 'cat "$1" | "$2" -q -t 10 -f - 127.0.0.1 "$3"' _ \
                "$BATS_TEST_TMPDIR/big.bin" "$ECHO_CLIENT" "$PORT"
        assert_success
        assert_output ""
        assert_equal "$stderr" ""
        echod_stop
}

@test "-f: a server that inverts the byte at offset 31457281 of 40 MiB: exit 1 naming byte 31457282" {
        head -c 41943040 /dev/urandom >"$BATS_TEST_TMPDIR/big.bin"
        odd_start --flip 31457281
        run --separate-stderr "$ECHO_CLIENT" -q -t 10 -f "$BATS_TEST_TMPDIR/big.bin" 127.0.0.1 "$PORT"
        assert_failure 1
        assert_equal "$stderr" "echo-client: echo differs from what was sent at byte 31457282"
        # The same stream from a pipe.
        run --separate-stderr bash -c 'cat "$1" | "$2" -q -t 10 -f - 127.0.0.1 "$3"' _ \
                "$BATS_TEST_TMPDIR/big.bin" "$ECHO_CLIENT" "$PORT"
        assert_failure 1
        assert_equal "$stderr" "echo-client: echo differs from what was sent at byte 31457282"
}

@test "-f on a terminal: a progress line on stderr while it runs, a throughput line at the end; -q: neither" {
        local fifo=$BATS_TEST_TMPDIR/in typescript=$BATS_TEST_TMPDIR/typescript pid
        echod_start "127.0.0.1:$PORT"
        mkfifo "$fifo"
        # script(1) gives echo-client a terminal; the test holds the input open until the
        # progress line shows what it wrote.
        script -q -e -f -c "$ECHO_CLIENT -f - 127.0.0.1:$PORT <$fifo" "$typescript" >/dev/null 2>&1 3>&- &
        pid=$!
        track_pid "$pid"
        exec 4>"$fifo"
        head -c 100000 /dev/urandom >&4
        wait_for_line "$typescript" '100000 bytes sent, 100000 echoed, [0-9.]+ MB/s'
        exec 4>&-
        wait_gone "$pid" 10
        wait "$pid"
        # The progress line is wiped (blanks, carriage return) before the result is printed.
        run grep -E $'\r {60}\rreceived 100000 bytes, identical to what was sent\r$' "$typescript"
        assert_success
        run grep -E $'^throughput [0-9.]+ MB/s: 100000 bytes echoed in [0-9.]+ s\r$' "$typescript"
        assert_success
        # Not a terminal: no progress line; the throughput line still on stdout.
        head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/file"
        run --separate-stderr "$ECHO_CLIENT" -f "$BATS_TEST_TMPDIR/file" "127.0.0.1:$PORT"
        assert_success
        assert_equal "$stderr" ""
        assert_line --regexp '^throughput [0-9.]+ MB/s: 100000 bytes echoed in [0-9.]+ s$'
        # -q on a terminal: nothing at all.
        script -q -e -c "$ECHO_CLIENT -q -f $BATS_TEST_TMPDIR/file 127.0.0.1:$PORT" "$typescript" >/dev/null 2>&1
        run grep -cE 'bytes sent|throughput|received' "$typescript"
        assert_output 0
        echod_stop
}
