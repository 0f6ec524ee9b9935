#!/usr/bin/env bats
# What one host, a stuck log reader or a flood of stalled senders can do to echod (issue 13):
# the log never blocks the loop, the limits are exact across workers, signals during a drain.
# Everything on loopback or in network namespaces made here.

load "../helpers/common"

STRESS=$ROOT/tests/helpers/stress.py
CONCURRENT=$ROOT/tests/helpers/concurrent_clients.py

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
        if [ -n "${HOLD_FD:-}" ]; then
                exec {HOLD_FD}>&-
        fi
        if [ -n "${NETNS:-}" ]; then
                ip netns del "$NETNS"
        fi
}

# echod_start_unread_pipe ARGS...: starts echod with stdout a FIFO that this shell holds open
# (O_RDWR, so it never sees EOF) but does not read, after taking the start-up line off it.
# Sets ECHOD_PID, ECHOD_ERR, FIFO and HOLD_FD.
echod_start_unread_pipe() {
        FIFO=$BATS_TEST_TMPDIR/out.fifo
        ECHOD_ERR=$BATS_TEST_TMPDIR/echod.err
        mkfifo "$FIFO"
        exec {HOLD_FD}<>"$FIFO"
        "$ECHOD" "$@" >"$FIFO" 2>"$ECHOD_ERR" 3>&- &
        ECHOD_PID=$!
        track_pid "$ECHOD_PID"
        local line
        read -r -t 10 line <&"$HOLD_FD"
        [[ "$line" == "starting up on "* ]]
}

@test "-v with stdout a pipe nobody reads: 3000 clients are all served, then lost lines are counted" {
        echod_start_unread_pipe -v "127.0.0.1:$PORT"
        # 6000 lines of about 60 bytes: far more than the pipe (64 KiB) and the queue hold.
        run "$PY" "$CONCURRENT" --port "$PORT" --clients 3000 --max-bytes 2048 --timeout 60
        assert_success
        # Every client was served, although nothing of the log went out for most of them.
        ! grep -q 'lines were lost' "$ECHOD_ERR"
        # Reading again: what was queued goes out, then one line says how many were lost.
        cat <&"$HOLD_FD" >"$BATS_TEST_TMPDIR/out" &
        track_pid $!
        wait_for_line "$ECHOD_ERR" '^echod: [0-9]+ log lines were lost: the log reader was too slow' 10
        lost=$(sed -n 's/^echod: \([0-9]*\) log lines were lost.*/\1/p' "$ECHOD_ERR")
        echo "# $lost of 6000 lines lost" >&3
        [ "$lost" -gt 0 ]
        # Nothing else is lost or doubled: what came out plus what was counted is every line.
        wait_for_line "$BATS_TEST_TMPDIR/out" '^(connection from|closed connection from) ' 10 $((6000 - lost))
        [ "$(count_lines "$BATS_TEST_TMPDIR/out" '^(connection from|closed connection from) ')" -eq $((6000 - lost)) ]
        [ "$(count_lines "$ECHOD_ERR" 'lines were lost')" -eq 1 ]
        echod_stop
}

@test "-v with stdout a pipe nobody reads: SIGTERM with clients open exits after the drain timeout" {
        echod_start_unread_pipe -v --drain-timeout 2 "127.0.0.1:$PORT"
        go=$BATS_TEST_TMPDIR/go
        "$PY" "$STRESS" hold 127.0.0.1 "$PORT" --clients 2000 --go-file "$go" --timeout 60 \
                >"$BATS_TEST_TMPDIR/hold.out" 2>&1 &
        track_pid $!
        wait_for_line "$BATS_TEST_TMPDIR/hold.out" '^connected 2000 clients' 30
        kill -TERM "$ECHOD_PID"
        # 2 s of drain, at most 1 s for the log, and a margin for a loaded machine.
        wait_gone "$ECHOD_PID" 8
        status=0
        wait "$ECHOD_PID" || status=$?
        [ "$status" = 0 ]
        assert_no_sanitizer_report "$ECHOD_ERR"
}

@test "--inetd wait with fd 0 a listening socket: an EMFILE in start-up closes fd 0 once, exit 1" {
        command -v strace >/dev/null || skip "strace is not installed"
        trace=$BATS_TEST_TMPDIR/strace
        # fd 0 a listening socket, as inetd's wait mode passes it, and no other; 5 fds are enough for the
        # first worker's epoll and eventfd, not for all four.
        run -1 "$PY" -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
s.setblocking(False)
os.dup2(s.fileno(), 0)
os.closerange(3, 65536)
os.execvp(sys.argv[1], sys.argv[1:])' strace -f -qq -e trace=close,epoll_create1 -o "$trace" \
                prlimit --nofile=5:5 -- "$ECHOD" --inetd --workers 4
        cat "$trace"
        grep -q 'epoll_create1(.*EMFILE' "$trace"
        [ "$(grep -cE 'close\(0\)' "$trace")" -eq 1 ]
}

@test "--max-connections 1 --workers 4: one client at a time, all served" {
        echod_start -v --max-connections 1 --workers 4 "127.0.0.1:$PORT"
        go=$BATS_TEST_TMPDIR/go
        "$PY" "$STRESS" hold 127.0.0.1 "$PORT" --clients 6 --go-file "$go" --timeout 30 \
                >"$BATS_TEST_TMPDIR/hold.out" 2>&1 &
        hold=$!
        track_pid "$hold"
        wait_for_line "$BATS_TEST_TMPDIR/hold.out" '^connected 6 clients'
        wait_for_line "$ECHOD_OUT" '^connection from ' 5 1
        # A few ticks (250 ms) for any of the four workers to (wrongly) accept a second.
        sleep 1
        [ "$(count_lines "$ECHOD_OUT" '^connection from ')" -eq 1 ]
        touch "$go"
        wait_gone "$hold" 30
        cat "$BATS_TEST_TMPDIR/hold.out" "$ECHOD_OUT" "$ECHOD_ERR"
        wait "$hold"
        grep -q '^6 of 6 clients intact' "$BATS_TEST_TMPDIR/hold.out"
        # One at a time: every "connection from" but the first follows a close.
        awk '/^connection from / { if (open) bad = 1; open = 1 } /^closed connection from / { open = 0 }
             END { exit bad }' "$ECHOD_OUT"
        [ "$(count_lines "$ECHOD_OUT" '^closed connection from ')" -eq 6 ]
        echod_stop
}

@test "SIGHUP drains as SIGTERM does: transfers in flight on two workers finish, exit 0" {
        echod_start --drain-timeout 60 --workers 2 "127.0.0.1:$PORT"
        "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 10 --bytes 1048576 --max-piece 65536 \
                --read-delay 0.3 --read-rate 2000000 --progress-at 0.5 --timeout 60 \
                >"$BATS_TEST_TMPDIR/run.out" 2>&1 &
        run_pid=$!
        track_pid "$run_pid"
        wait_for_line "$BATS_TEST_TMPDIR/run.out" '^progress' 30
        kill -HUP "$ECHOD_PID"
        wait_gone "$run_pid" 60
        cat "$BATS_TEST_TMPDIR/run.out"
        wait "$run_pid"
        grep -q '^10 of 10 clients intact' "$BATS_TEST_TMPDIR/run.out"
        wait_gone "$ECHOD_PID" 10
        status=0
        wait "$ECHOD_PID" || status=$?
        [ "$status" = 0 ]
        assert_no_sanitizer_report "$ECHOD_ERR"
}

# second_signal SIGNAL: 40 idle clients on four workers, a drain of 600 s, then SIGNAL twice.
second_signal() {
        echod_start -v --drain-timeout 600 --workers 4 "127.0.0.1:$PORT"
        go=$BATS_TEST_TMPDIR/go
        "$PY" "$STRESS" hold 127.0.0.1 "$PORT" --clients 40 --go-file "$go" --timeout 60 \
                >"$BATS_TEST_TMPDIR/hold.out" 2>&1 &
        track_pid $!
        wait_for_line "$BATS_TEST_TMPDIR/hold.out" '^connected 40 clients'
        wait_for_line "$ECHOD_OUT" '^connection from ' 10 40
        kill -TERM "$ECHOD_PID"
        wait_for_line "$ECHOD_OUT" '^SIGTERM received, draining'
        ! pid_gone "$ECHOD_PID"
        kill "-$1" "$ECHOD_PID"
        # Far less than the 600 s of drain.
        wait_gone "$ECHOD_PID" 10
        status=0
        wait "$ECHOD_PID" || status=$?
        [ "$status" = 1 ]
        grep -q "^echod: SIG$1 received during the drain: closing every connection now" "$ECHOD_ERR"
        # Every worker closed what it held: 40 in all.
        closed=$(sed -n 's/^echod: stopping at once: closing \([0-9]*\) connections.*/\1/p' "$ECHOD_ERR" | awk "{ n += \$1 } END { print n }")
        [ "$closed" -eq 40 ]
        assert_no_sanitizer_report "$ECHOD_ERR"
}

@test "a second SIGTERM during a long drain closes what is left in every worker, exit 1" {
        second_signal TERM
}

@test "SIGINT during a long drain after SIGTERM: the same" {
        second_signal INT
}

@test "--max-per-source: 127.0.0.2 at its limit is closed unserved, 127.0.0.3 is served at once" {
        echod_start -v --max-per-source 5 --workers 2 "127.0.0.1:$PORT"
        run "$PY" "$HELPERS/per_source.py" 127.0.0.1 "$PORT" --limit 5 --refused 20
        echo "$output"
        assert_success
        assert_line "127.0.0.2: 5 of 5 served"
        assert_line "127.0.0.2 over the limit: 20 of 20 closed unserved"
        assert_line "127.0.0.3: served"
        assert_line "127.0.0.2 after one closed: served"
        # Closed before a byte was read: no "connection from" line for them, and one notice.
        [ "$(count_lines "$ECHOD_OUT" "^connection from \('127\.0\.0\.2'")" -ge 6 ]
        [ "$(count_lines "$ECHOD_OUT" "^connection from \('127\.0\.0\.2'")" -le 7 ]
        [ "$(count_lines "$ECHOD_OUT" '^closing connections from 127\.0\.0\.2 beyond --max-per-source 5')" -eq 1 ]
        echod_stop
}

@test "--max-per-source 0 (the default) does not limit one source" {
        echod_start --max-connections 100 "127.0.0.1:$PORT"
        run "$PY" "$HELPERS/per_source.py" 127.0.0.1 "$PORT" --limit 30 --refused 0
        assert_success
        assert_line "127.0.0.2: 30 of 30 served"
        echod_stop
}
