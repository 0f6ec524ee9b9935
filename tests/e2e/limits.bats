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
        if [ -n "${NETNS2:-}" ]; then
                ip netns del "$NETNS2"
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
        # first worker's epoll, timerfd and eventfd, not for all four: one of them fails.
        run -1 "$PY" -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
s.setblocking(False)
os.dup2(s.fileno(), 0)
os.closerange(3, 65536)
os.execvp(sys.argv[1], sys.argv[1:])' strace -f -qq -e trace=close,epoll_create1,timerfd_create,eventfd2 -o "$trace" \
                prlimit --nofile=5:5 -- "$ECHOD" --inetd --workers 4
        cat "$trace"
        grep -qE '(epoll_create1|timerfd_create|eventfd2)\(.*EMFILE' "$trace"
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
        # Closed before a byte was read: no "connection from" line for the 20, and one notice.
        [ "$(count_lines "$ECHOD_OUT" "^connection from \('127\.0\.0\.2'")" -ge 6 ]
        [ "$(count_lines "$ECHOD_OUT" "^connection from \('127\.0\.0\.2'")" -lt 25 ]
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

# Runs in a network namespace whose TCP buffers are capped at 64 KiB (as reliability.bats's RSS
# test): each stalled client then pushes about 512 KiB towards echod, enough to fill its
# 256 KiB ring, while the kernel's share stays small on a shared machine. $1: the number of
# workers, who share the one budget.
stalled_senders_within_budget() {
        local workers=$1 budget=4194304 clients=200
        [ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
        NETNS=echod-mem-$$
        ip netns add "$NETNS"
        ip netns exec "$NETNS" ip link set lo up
        ip netns exec "$NETNS" sysctl -q -w net.ipv4.tcp_wmem="4096 16384 65536" \
                net.ipv4.tcp_rmem="4096 16384 65536"
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
        ECHOD_WRAP="ip netns exec $NETNS" echod_start --workers "$workers" --max-memory "$budget" "127.0.0.1:$PORT"
        base=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ECHOD_PID/status")
        go=$BATS_TEST_TMPDIR/go
        ip netns exec "$NETNS" "$PY" "$HELPERS/stalled.py" 127.0.0.1 "$PORT" --clients "$clients" \
                --go-file "$go" --timeout 90 >"$BATS_TEST_TMPDIR/stalled.out" 2>&1 &
        stalled=$!
        track_pid "$stalled"
        wait_for_line "$BATS_TEST_TMPDIR/stalled.out" '^stalled 200 clients' 60
        cat "$BATS_TEST_TMPDIR/stalled.out"
        # New clients, while all 200 still hold on: the seed's exchange, and streams of 1 MiB.
        run ip netns exec "$NETNS" "$ECHO_CLIENT" -t 10 127.0.0.1 "$PORT"
        assert_success
        run ip netns exec "$NETNS" "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 5 --bytes 1048576 \
                --max-piece 65536 --timeout 30
        assert_success
        assert_line --regexp '^5 of 5 clients intact'
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ECHOD_PID/status")
        peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$ECHOD_PID/status")
        # The budget once for all workers, each worker's spare rings (its pool keeps at most the
        # budget), and 16 MiB for the rest.
        bound=$((base + (1 + workers) * budget / 1024 + 16384))
        echo "# $workers worker(s): RSS at start ${base} kB, with 200 stalled ${rss} kB, peak ${peak} kB, bound ${bound} kB" >&3
        [ "$peak" -le "$bound" ]
        # The budget was really spent: 16 rings of 256 KiB are held.
        [ "$rss" -ge $((base + budget / 2 / 1024)) ]
        touch "$go"
        wait_gone "$stalled" 30
        echod_stop
}

@test "--max-memory: 200 stalled senders hold at most the budget, and a new client is served" {
        stalled_senders_within_budget 1
}

@test "--max-memory with --workers 2: one budget for both workers, each drawing on it in chunks" {
        stalled_senders_within_budget 2
}

@test "addresses: a wildcard logs the bound address, legacy IPv4 forms and mapped IPv6 are usage errors" {
        echod_start "0:$PORT"
        assert_equal "$(cat "$ECHOD_OUT")" "starting up on 0.0.0.0 port $PORT"
        run "$ECHO_CLIENT" 127.0.0.1 "$PORT"
        assert_success
        echod_stop
        for a in "127.1:$PORT" "0x7f.1:$PORT" "2130706433:$PORT" "127.0.0.01:$PORT"; do
                run --separate-stderr "$ECHOD" "$a"
                assert_equal "$status" 2
                assert_equal "$stderr" "echod: invalid address '$a': not an IPv4 address: four decimal numbers, as in 127.0.0.1 (legacy forms such as 127.1 or 0x7f.0.0.1 are refused)"
                assert_equal "$output" ""
        done
        run --separate-stderr "$ECHOD" "[::ffff:127.0.0.1]:$PORT"
        assert_equal "$status" 2
        assert_equal "$stderr" "echod: invalid address '[::ffff:127.0.0.1]:$PORT': an IPv4-mapped IPv6 address cannot be listened on: give the IPv4 address"
        run --separate-stderr "$ECHOD" "[fe80::1%]:$PORT"
        assert_equal "$status" 2
}

@test "addresses: a scoped link-local address [fe80::1%lo]:PORT is bound and served" {
        [ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
        NETNS=echod-scope-$$
        ip netns add "$NETNS"
        ip netns exec "$NETNS" ip link set lo up
        ip netns exec "$NETNS" ip addr add fe80::1/64 dev lo nodad || skip "the kernel refuses a link-local address on lo"
        ECHOD_WRAP="ip netns exec $NETNS" echod_start "[fe80::1%lo]:$PORT"
        assert_equal "$(cat "$ECHOD_OUT")" "starting up on fe80::1%lo port $PORT"
        run ip netns exec "$NETNS" "$PY" -c '
import socket, sys
s = socket.create_connection(("fe80::1%lo", int(sys.argv[1])), timeout=5)
s.sendall(b"scoped\n"); s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(100)
    if not d: break
    got += d
print(got.decode(), end="")' "$PORT"
        assert_success
        assert_output "scoped"
        echod_stop
}

# Two namespaces joined by a veth: echod in one (TCP gives up after one unanswered probe), 30
# clients that send and never read in the other, so that echod probes their zero windows;
# deleting the veth then times every connection out.
@test "connection errors name the peer and are rate-limited: 10 lines, then one summary" {
        [ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
        NETNS=echod-rl-$$
        NETNS2=echod-rlc-$$
        ip netns add "$NETNS"
        ip netns add "$NETNS2"
        ip link add "rl$$a" netns "$NETNS" type veth peer name "rl$$b" netns "$NETNS2"
        ip netns exec "$NETNS" ip addr add 10.78.0.1/24 dev "rl$$a"
        ip netns exec "$NETNS2" ip addr add 10.78.0.2/24 dev "rl$$b"
        ip netns exec "$NETNS" ip link set "rl$$a" up
        ip netns exec "$NETNS2" ip link set "rl$$b" up
        ip netns exec "$NETNS" sysctl -q -w net.ipv4.tcp_retries2=1
        ECHOD_WRAP="ip netns exec $NETNS" echod_start "10.78.0.1:$PORT"
        ip netns exec "$NETNS2" "$PY" "$HELPERS/stalled.py" 10.78.0.1 "$PORT" --clients 30 \
                --go-file "$BATS_TEST_TMPDIR/never" --timeout 60 >"$BATS_TEST_TMPDIR/stalled.out" 2>&1 &
        track_pid $!
        wait_for_line "$BATS_TEST_TMPDIR/stalled.out" '^stalled 30 clients' 30
        ip netns exec "$NETNS" ip link del "rl$$a"
        wait_for_line "$ECHOD_ERR" '^echod: [0-9]+ more connection errors in the last 10 s were not logged' 30
        cat "$ECHOD_ERR"
        [ "$(count_lines "$ECHOD_ERR" "^echod: connection from \('10\.78\.0\.2', [0-9]+\) closed on error: ")" -eq 10 ]
        more=$(sed -n 's/^echod: \([0-9]*\) more connection errors.*/\1/p' "$ECHOD_ERR")
        [ "$more" -eq 20 ]
        echod_stop
}
