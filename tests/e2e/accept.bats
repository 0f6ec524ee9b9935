#!/usr/bin/env bats
# What echod does per connection to cost less than a minimal epoll server: on the sockets it
# binds itself TCP_NODELAY (inherited by accepted sockets) and TCP_DEFER_ACCEPT (a client is
# accepted with its first bytes, which are read at once); counters per worker, summed for
# STATUS=. See docs/performance.md.

load '../helpers/common'
bats_require_minimum_version 1.5.0

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
}

@test "own listener: a client is accepted with its first bytes; a silent one after about a second" {
        echod_start -v "127.0.0.1:$PORT"
        # A connects and says nothing; B connects after it, sends and reads its echo.
        "$PY" - "$PORT" >"$BATS_TEST_TMPDIR/clients.out" 2>&1 3>&- <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
b.sendall(b"first bytes")
got = b""
while len(got) < 11:
    got += b.recv(64)
print(f"silent {a.getsockname()[1]} talker {b.getsockname()[1]} echo {got.decode()}", flush=True)
time.sleep(10)
EOF
        track_pid $!
        wait_for_line "$BATS_TEST_TMPDIR/clients.out" 'echo first bytes$'
        read -r _ silent _ talker _ <"$BATS_TEST_TMPDIR/clients.out"
        # Accepted in order of their first bytes, not of their connects: B is in, A not yet.
        wait_for_line "$ECHOD_OUT" "^connection from \\('127\\.0\\.0\\.1', $talker\\)" 1
        run grep -c "^connection from ('127.0.0.1', $silent)" "$ECHOD_OUT"
        assert_output 0
        # A is accepted anyway once the defer has passed, about a second.
        wait_for_line "$ECHOD_OUT" "^connection from \\('127\\.0\\.0\\.1', $silent\\)" 4
        echod_stop
}

@test "STATUS= sums the workers' counts: every client served and every byte echoed, --workers 2" {
        local sock=$BATS_TEST_TMPDIR/notify.sock
        "$PY" - "$sock" >"$BATS_TEST_TMPDIR/notify.out" 3>&- <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    for line in s.recv(4096).decode().splitlines():
        print(line, flush=True)
EOF
        track_pid $!
        wait_for_line "$BATS_TEST_TMPDIR/notify.out" '^listening$'
        NOTIFY_SOCKET=$sock echod_start --workers 2 "127.0.0.1:$PORT"
        wait_for_line "$BATS_TEST_TMPDIR/notify.out" '^READY=1$'
        run "$BUILD/src/bench/echo-bench" --json -q -t 20 concurrent -c 20 -b 5000 127.0.0.1 "$PORT"
        assert_success
        # 20 clients of 5000 bytes, whichever worker took each.
        wait_for_line "$BATS_TEST_TMPDIR/notify.out" '^STATUS=0 connections, 20 served, 100000 bytes echoed$' 5
        echod_stop
        grep -q '^STATUS=.*0 connections, 20 served, 100000 bytes echoed$' "$BATS_TEST_TMPDIR/notify.out"
}
