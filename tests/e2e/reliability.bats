#!/usr/bin/env bats
# Faults echod must survive without losing a byte, and the limits that bound what a client can
# cost it (issue 5). Clients are tests/helpers/stress.py; everything runs on loopback.

load '../helpers/common'

STRESS=$ROOT/tests/helpers/stress.py

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
        if [ -n "${NETNS:-}" ]; then
                ip netns del "$NETNS"
        fi
}

# CPU time (utime + stime, in clock ticks) that process $1 has used so far.
cpu_ticks() {
        local f
        read -ra f < <(sed 's/^.*) //' "/proc/$1/stat")
        echo $((f[11] + f[12]))
}

# The fds process $1 holds, pipes left out: echod's splice pool keeps the pipes it made for
# reuse (ECHOD_SPLICE=on makes them for every connection); splice.bats counts those.
fd_count() {
        local n=0 fd
        for fd in "/proc/$1/fd/"*; do
                [[ "$(readlink "$fd" 2>/dev/null)" == pipe:* ]] || n=$((n + 1))
        done
        echo "$n"
}

# Waits up to $3 seconds until process $1 holds at most $2 fds.
wait_fds_at_most() {
        local deadline=$((SECONDS + $3 + 1))
        while [ "$(fd_count "$1")" -gt "$2" ]; do
                if [ "$SECONDS" -ge "$deadline" ]; then
                        echo "pid $1 still holds $(fd_count "$1") fds, expected at most $2:" >&2
                        ls -l "/proc/$1/fd" >&2
                        return 1
                fi
                sleep 0.05
        done
}

# stress_bg NAME ARGS...: runs stress.py in the background, output in $BATS_TEST_TMPDIR/NAME.out.
stress_bg() {
        local name=$1; shift
        "$PY" "$STRESS" "$@" >"$BATS_TEST_TMPDIR/$name.out" 2>&1 &
        STRESS_PID=$!
        track_pid "$STRESS_PID"
}

# stress_wait [SECONDS]: waits (bounded) for the last stress_bg and sets STRESS_STATUS.
stress_wait() {
        wait_gone "$STRESS_PID" "${1:-60}" || { echo "stress.py still running after ${1:-60} s" >&2; return 1; }
        STRESS_STATUS=0
        wait "$STRESS_PID" || STRESS_STATUS=$?
}

@test "random payloads in random-sized pieces, with half-close, come back whole and then EOF" {
        echod_start -v "127.0.0.1:$PORT"
        run "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients 30 --max-bytes 262144 --max-piece 8192 \
                --max-delay 0.02 --small-rcvbuf 3 --timeout 60
        assert_success
        assert_line --regexp '^30 of 30 clients intact'
        # The server saw each of them to the end.
        wait_for_line "$ECHOD_OUT" '^closed connection from ' 5 30
        echod_stop
}

@test "EINTR: stopping and continuing echod mid-transfer loses no byte" {
        echod_start "127.0.0.1:$PORT"
        stress_bg eintr run 127.0.0.1 "$PORT" --clients 8 --bytes 1048576 --read-delay 0.2 \
                --read-rate 4000000 --timeout 60
        wait_for_line "$BATS_TEST_TMPDIR/eintr.out" '^connected'
        for _ in $(seq 10); do
                kill -STOP "$ECHOD_PID"
                sleep 0.05
                kill -CONT "$ECHOD_PID"
                sleep 0.05
        done
        stress_wait 60
        cat "$BATS_TEST_TMPDIR/eintr.out"
        [ "$STRESS_STATUS" = 0 ]
        grep -q '^8 of 8 clients intact' "$BATS_TEST_TMPDIR/eintr.out"
        echod_stop
}

@test "clients that reset mid-stream are freed while others keep being served" {
        echod_start -v "127.0.0.1:$PORT"
        base=$(fd_count "$ECHOD_PID")
        # A slow, long transfer that must survive its neighbours' resets.
        stress_bg steady run 127.0.0.1 "$PORT" --clients 2 --bytes 2097152 --read-delay 0.5 \
                --read-rate 2000000 --timeout 60
        wait_for_line "$BATS_TEST_TMPDIR/steady.out" '^connected'
        run "$PY" "$STRESS" reset 127.0.0.1 "$PORT" --clients 5 --bytes 262144
        assert_success
        for p in $(sed -n 's/^port \([0-9]*\) .*/\1/p' <<<"$output"); do
                wait_for_line "$ECHOD_OUT" "^closed connection from \('127\.0\.0\.1', $p\)" 5
        done
        stress_wait 60
        cat "$BATS_TEST_TMPDIR/steady.out"
        [ "$STRESS_STATUS" = 0 ]
        wait_fds_at_most "$ECHOD_PID" "$base" 5
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        # A reset is the client's business, not an error worth a line.
        run cat "$ECHOD_ERR"
        assert_output ''
        echod_stop
}

@test "a client that vanishes mid-stream (killed, unread data) is freed" {
        echod_start -v "127.0.0.1:$PORT"
        base=$(fd_count "$ECHOD_PID")
        stress_bg vanish run 127.0.0.1 "$PORT" --clients 3 --bytes 8388608 --read-delay 1000 \
                --progress-at 0.01 --timeout 60
        wait_for_line "$BATS_TEST_TMPDIR/vanish.out" '^progress'
        # The kernel completes a connect before echod accepts it: wait until all three are its own.
        wait_for_line "$ECHOD_OUT" '^connection from ' 5 3
        [ "$(fd_count "$ECHOD_PID")" -eq $((base + 3)) ]
        kill -KILL "$STRESS_PID"
        wait_for_line "$ECHOD_OUT" '^closed connection from ' 5 3
        wait_fds_at_most "$ECHOD_PID" "$base" 5
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        echod_stop
}

# Runs in a network namespace whose TCP buffers are capped at 64 KiB: on the host's loopback the
# kernel would hold each client's whole MiB in socket buffers, and echod's own buffers (what the
# cap bounds) would never fill.
@test "200 clients sending 1 MiB each and reading slowly: RSS stays bounded, all intact" {
        local bufsize=65536 clients=200
        [ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
        NETNS=echod-rss-$$
        ip netns add "$NETNS"
        ip netns exec "$NETNS" ip link set lo up
        ip netns exec "$NETNS" sysctl -q -w net.ipv4.tcp_wmem="4096 16384 65536" \
                net.ipv4.tcp_rmem="4096 16384 65536"
        # ASan keeps freed blocks in quarantine (256 MiB by default), which would measure ASan.
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
        ECHOD_WRAP="ip netns exec $NETNS" echod_start --buffer-size "${ECHOD_RSS_BUFSIZE:-$bufsize}" "127.0.0.1:$PORT"
        base=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ECHOD_PID/status")
        run ip netns exec "$NETNS" "$PY" "$STRESS" run 127.0.0.1 "$PORT" --clients "$clients" \
                --bytes 1048576 --max-piece 65536 --read-delay 1 --read-rate 1000000 --timeout 120
        assert_success
        assert_line --regexp "^$clients of $clients clients intact, $((clients * 1048576)) bytes"
        peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$ECHOD_PID/status")
        # Each client may cost its ring and its struct; allow 50 % for the allocator, 16 MiB more.
        bound=$((base + clients * bufsize * 3 / 2 / 1024 + 16384))
        echo "# RSS at start ${base} kB, peak ${peak} kB, bound ${bound} kB" >&3
        [ "$peak" -le "$bound" ]
        # Bytes were really held by echod: the peak is not just the start-up footprint.
        [ "$peak" -ge $((base + clients * bufsize / 4 / 1024)) ]
        echod_stop
}

@test "idle clients are closed after --idle-timeout, active ones are not" {
        echod_start -v --idle-timeout 1 "127.0.0.1:$PORT"
        run "$PY" "$STRESS" idle 127.0.0.1 "$PORT" --idle-timeout 1
        assert_success
        assert_line --regexp '^silent client: closed after'
        assert_line --regexp '^stalled client: closed by the server'
        assert_line --regexp '^trickling client: open for 3.0 s, all [0-9]+ bytes back'
        # Both were closed for being idle, the stalled one although its echo was pending.
        [ "$(grep -c '^idle for 1 s, closing' "$ECHOD_OUT")" -eq 2 ]
        stalled=$(sed -n 's/.*stalled port \([0-9]*\)$/\1/p' <<<"${lines[0]}")
        grep -qE "^closed connection from \('127\.0\.0\.1', $stalled\)" "$ECHOD_OUT"
        echod_stop
}

@test "--max-connections: clients beyond it wait in the backlog, then are all served" {
        echod_start -v --max-connections 3 "127.0.0.1:$PORT"
        go=$BATS_TEST_TMPDIR/go
        stress_bg hold hold 127.0.0.1 "$PORT" --clients 8 --go-file "$go" --timeout 30
        wait_for_line "$BATS_TEST_TMPDIR/hold.out" '^connected 8 clients'
        wait_for_line "$ECHOD_OUT" '^connection from ' 5 3
        # Give the loop a few ticks to (wrongly) accept a fourth.
        sleep 0.5
        [ "$(grep -c '^connection from ' "$ECHOD_OUT")" -eq 3 ]
        touch "$go"
        stress_wait 30
        cat "$BATS_TEST_TMPDIR/hold.out"
        [ "$STRESS_STATUS" = 0 ]
        grep -q '^8 of 8 clients intact' "$BATS_TEST_TMPDIR/hold.out"
        echod_stop
}

@test "few fds, default limit: the limit follows RLIMIT_NOFILE, clients wait, all served" {
        ECHOD_WRAP="prlimit --nofile=48:48 --" echod_start -v "127.0.0.1:$PORT"
        go=$BATS_TEST_TMPDIR/go
        stress_bg hold hold 127.0.0.1 "$PORT" --clients 60 --go-file "$go" --timeout 30
        wait_for_line "$BATS_TEST_TMPDIR/hold.out" '^connected 60 clients'
        wait_for_line "$ECHOD_OUT" '^connection from ' 5 24
        sleep 0.5
        [ "$(grep -c '^connection from ' "$ECHOD_OUT")" -eq 24 ]
        touch "$go"
        stress_wait 30
        cat "$BATS_TEST_TMPDIR/hold.out"
        [ "$STRESS_STATUS" = 0 ]
        grep -q '^60 of 60 clients intact' "$BATS_TEST_TMPDIR/hold.out"
        run cat "$ECHOD_ERR"
        assert_output ''
        echod_stop
}

# emfile_scenario ECHOD_ARGS...: 80 clients against echod with 48 fds and room for 1000 clients.
emfile_scenario() {
        ECHOD_WRAP="prlimit --nofile=48:48 --" echod_start --max-connections 1000 "$@" "127.0.0.1:$PORT"
        grep -q 'more than the 48 file descriptors allow' "$ECHOD_ERR"
        go=$BATS_TEST_TMPDIR/go
        stress_bg hold hold 127.0.0.1 "$PORT" --clients 80 --go-file "$go" --timeout 40
        wait_for_line "$BATS_TEST_TMPDIR/hold.out" '^connected 80 clients'
        wait_for_line "$ECHOD_ERR" 'cannot accept: Too many open files; pausing' 5
        # While paused with a full backlog, a spinning listener would burn ~2 s of CPU in 2 s.
        t0=$(cpu_ticks "$ECHOD_PID")
        sleep 2
        t1=$(cpu_ticks "$ECHOD_PID")
        echo "# CPU while paused: $((t1 - t0)) ticks in 2 s" >&3
        [ $((t1 - t0)) -lt 40 ]
        touch "$go"
        stress_wait 40
        cat "$BATS_TEST_TMPDIR/hold.out"
        [ "$STRESS_STATUS" = 0 ]
        grep -q '^80 of 80 clients intact' "$BATS_TEST_TMPDIR/hold.out"
        [ "$(grep -c 'cannot accept' "$ECHOD_ERR")" -eq 1 ]
        # The last client may have been accepted during the shortage: the accept that says
        # EAGAIN and ends it comes at the next tick (250 ms), possibly after the clients are done.
        wait_for_line "$ECHOD_OUT" '^accepting connections again' 5
        [ "$(grep -c '^accepting connections again' "$ECHOD_OUT")" -eq 1 ]
        echod_stop
}

@test "out of fds (EMFILE): echod pauses accepting without spinning, warns once, serves everyone" {
        emfile_scenario
}

@test "out of fds (EMFILE) with two workers: still one warning and one resumption in all" {
        emfile_scenario --workers 2
}

@test "SIGTERM with transfers in flight: every pending byte is flushed, exit 0" {
        echod_start --drain-timeout 60 "127.0.0.1:$PORT"
        stress_bg term run 127.0.0.1 "$PORT" --clients 20 --bytes 2097152 --max-piece 65536 \
                --read-delay 0.3 --read-rate 2000000 --progress-at 0.5 --timeout 60
        wait_for_line "$BATS_TEST_TMPDIR/term.out" '^progress' 30
        kill -TERM "$ECHOD_PID"
        stress_wait 60
        cat "$BATS_TEST_TMPDIR/term.out"
        [ "$STRESS_STATUS" = 0 ]
        grep -q '^20 of 20 clients intact' "$BATS_TEST_TMPDIR/term.out"
        wait_gone "$ECHOD_PID" 10
        status=0
        wait "$ECHOD_PID" || status=$?
        [ "$status" = 0 ]
        assert_no_sanitizer_report "$ECHOD_ERR"
}

@test "SIGPIPE never kills echod: not sent to it, nor raised by writing to a reset client" {
        echod_start "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        kill -PIPE "$ECHOD_PID"
        # Clients that vanish with echoes pending make echod write to reset sockets.
        run "$PY" "$STRESS" reset 127.0.0.1 "$PORT" --clients 10 --bytes 1048576
        assert_success
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        run pid_gone "$ECHOD_PID"
        assert_failure
        echod_stop
}
