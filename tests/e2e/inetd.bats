#!/usr/bin/env bats
# A real inetd (Debian's openbsd-inetd) runs echod --inetd from its own configuration file:
# a nowait line (one echod per connection) and a wait line (one echod for the listening
# socket, until --exit-idle). inetd runs in the foreground (-d) inside a private mount
# namespace with its own /run, so the machine's inetd, its configuration and pid file are never
# touched. About 5 s per build.

load '../helpers/common'

setup() {
        INETD=/usr/sbin/inetd
        [ -x "$INETD" ] || skip "openbsd-inetd is not installed (apt-get install openbsd-inetd)"
        NOWAIT_PORT=$(free_port)
        WAIT_PORT=$(free_port)
        UDP_PORT=$(free_port --udp)
        # Each is free, but the kernel may pick one twice: inetd would then fail to bind.
        while [ "$WAIT_PORT" = "$NOWAIT_PORT" ]; do WAIT_PORT=$(free_port); done
        INETD_CONF=$BATS_TEST_TMPDIR/inetd.conf
        INETD_LOG=$BATS_TEST_TMPDIR/inetd.log
        # inetd execs the server as the user of the line: it must reach the binary.
        INETD_USER=nobody
        su -s /bin/sh nobody -c "test -x '$ECHOD'" 2>/dev/null || INETD_USER=root
        printf '%s\n' \
                "127.0.0.1:$NOWAIT_PORT stream tcp nowait $INETD_USER $ECHOD echod --inetd -v" \
                "127.0.0.1:$WAIT_PORT stream tcp wait $INETD_USER $ECHOD echod --inetd --exit-idle 1" \
                "127.0.0.1:$UDP_PORT dgram udp wait $INETD_USER $ECHOD echod --inetd --exit-idle 1" \
                >"$INETD_CONF"
        unshare --mount --propagation private sh -c \
                'mount -t tmpfs tmpfs /run && exec "$0" -d "$1"' "$INETD" "$INETD_CONF" \
                >"$INETD_LOG" 2>&1 3>&- &
        INETD_PID=$!
        track_pid "$INETD_PID"
        wait_for_line "$INETD_LOG" "^ADD: 127\.0\.0\.1:($NOWAIT_PORT|$WAIT_PORT|$UDP_PORT) " 5 3
}

teardown() {
        # A wait-mode echod outlives inetd until it is idle: end inetd's children by pid too.
        local pid
        for pid in $(pgrep -P "${INETD_PID:-0}" -x echod); do
                track_pid "$pid"
        done
        teardown_tracked
}

@test "inetd nowait: one echod per connection, each echo intact, each exits 0" {
        head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        timeout 10 socat -t 5 - "TCP:127.0.0.1:$NOWAIT_PORT" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
        # Not one byte more than was sent: echod's -v lines went to syslog, not fds 1 and 2.
        cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$NOWAIT_PORT" --clients 20 --max-bytes 65536
        assert_success
        assert_line --regexp '^20 of 20 clients intact'
        wait_for_line "$INETD_LOG" '^[0-9]+ reaped, status 0$' 10 21
        assert_equal "$(grep -c ' execv .*/echod$' "$INETD_LOG")" 21
        run grep -E ' reaped, status [^0]' "$INETD_LOG"
        assert_failure
}

@test "inetd wait: one echod accepts on the listening socket, exits when idle, inetd restarts it" {
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$WAIT_PORT" --clients 30 --max-bytes 65536
        assert_success
        assert_line --regexp '^30 of 30 clients intact'
        assert_equal "$(grep -c ' execv .*/echod$' "$INETD_LOG")" 1
        # --exit-idle 1: gone within a few seconds, status 0; inetd listens again.
        wait_for_line "$INETD_LOG" '^[0-9]+ reaped, status 0$' 10
        run "$ECHO_CLIENT" -q -m 'after the restart' 127.0.0.1 "$WAIT_PORT"
        assert_success
        assert_equal "$(grep -c ' execv .*/echod$' "$INETD_LOG")" 2
}

@test "inetd dgram wait: echod echoes datagrams on fd 0, exits 0 when idle" {
        run "$PY" "$HELPERS/udp_echo_check.py" 127.0.0.1 "$UDP_PORT" --count 6
        assert_success
        assert_output "6 datagrams echoed"
        wait_for_line "$INETD_LOG" '^[0-9]+ reaped, status 0$' 10
        run "$PY" "$HELPERS/udp_echo_check.py" 127.0.0.1 "$UDP_PORT" --count 2
        assert_success
        assert_equal "$(grep -c ' execv .*/echod$' "$INETD_LOG")" 2
}
