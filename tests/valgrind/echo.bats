#!/usr/bin/env bats
# A few core echo scenarios with echod under valgrind memcheck: any invalid access, use of
# uninitialised memory or leak makes valgrind exit 99, which echod_stop reports. Run by
# `SUITES=valgrind tests/run-all` against a build without sanitizers.

load '../helpers/common'

STRESS=$ROOT/tests/helpers/stress.py

setup() {
        PORT=$(free_port)
        VG_LOG=$BATS_TEST_TMPDIR/valgrind.log
        export ECHOD_WRAP="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-fds=no --log-file=$VG_LOG"
        export ECHOD_START_TIMEOUT=30
}

teardown() {
        teardown_tracked
        if [ -s "$VG_LOG" ]; then
                echo "valgrind said:" >&2
                cat "$VG_LOG" >&2
        fi
}

# Stops echod as echod_stop does and also wants valgrind's log empty.
vg_stop() {
        echod_stop 60
        [ ! -s "$VG_LOG" ]
}

@test "valgrind: the seed's exchange, and a 300 kB file through -f" {
        echod_start "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" 127.0.0.1 "$PORT"
        assert_success
        assert_line "received b' repeated.'"
        head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
        run "$ECHO_CLIENT" -q -t 60 -f "$BATS_TEST_TMPDIR/blob" 127.0.0.1 "$PORT"
        assert_success
        vg_stop
}

@test "valgrind: -vv trace, IPv4 and IPv6 listeners" {
        echod_start -n 2 -vv "127.0.0.1:$PORT" "[::1]:$PORT"
        run "$ECHO_CLIENT" -q -m "it's \"quoted\" and tabbed	" 127.0.0.1 "$PORT"
        assert_success
        run "$ECHO_CLIENT" -q ::1 "$PORT"
        assert_success
        wait_for_line "$ECHOD_OUT" '^no data from ' 30 2
        vg_stop
}

@test "valgrind: 20 clients, random pieces, two workers" {
        echod_start --workers 2 --buffer-size 4096 "127.0.0.1:$PORT"
        run "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 20 --max-bytes 131072 --max-piece 4096 \
                --small-rcvbuf 2 --timeout 120
        assert_success
        assert_line --regexp '^20 of 20 clients intact'
        vg_stop
}

@test "valgrind: resets, an idle timeout and SIGTERM with a transfer in flight" {
        # --drain-timeout 60: under memcheck the drain of 4 slow readers may outlast the 10 s default.
        echod_start --idle-timeout 2 --drain-timeout 60 "127.0.0.1:$PORT"
        run "$PY" "$STRESS" reset 127.0.0.1 "$PORT" --clients 3 --bytes 200000
        assert_success
        run "$PY" "$STRESS" idle 127.0.0.1 "$PORT" --idle-timeout 2
        assert_success
        "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 4 --bytes 1048576 --read-delay 0.5 \
                --read-rate 1000000 --progress-at 0.3 --timeout 120 >"$BATS_TEST_TMPDIR/term.out" 2>&1 &
        client=$!
        track_pid "$client"
        wait_for_line "$BATS_TEST_TMPDIR/term.out" '^progress' 60
        kill -TERM "$ECHOD_PID"
        wait_gone "$client" 120
        wait "$client"
        grep -q '^4 of 4 clients intact' "$BATS_TEST_TMPDIR/term.out"
        wait_gone "$ECHOD_PID" 60
        status=0
        wait "$ECHOD_PID" || status=$?
        [ "$status" = 0 ]
        [ ! -s "$VG_LOG" ]
}
