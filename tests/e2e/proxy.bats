#!/usr/bin/env bats
# --proxy-protocol without a balancer: tests/helpers/proxy_client.py sends the headers a
# balancer would (v1, v2, LOCAL, UNKNOWN, in pieces, with TLVs) and the bytes that follow; the
# echo must be exactly those bytes, the log must name the client the header carries, and a
# connection without a valid header must get nothing back. tests/e2e/haproxy.bats has the
# real balancer. About 10 s per build.

load '../helpers/common'

setup() {
        PORT=$(free_port)
        PROXY_CLIENT=("$PY" "$HELPERS/proxy_client.py")
}

teardown() {
        teardown_tracked
}

@test "--proxy-protocol: v1 and v2 headers are consumed, the bytes after them echoed, the carried client logged" {
        echod_start -v --proxy-protocol "127.0.0.1:$PORT"
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v1 --client 192.0.2.1 5001 --bytes 1
        assert_success
        assert_output "1 bytes back of 1 sent: intact"
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v2 --client 192.0.2.2 5002 --bytes 100000
        assert_success
        assert_output "100000 bytes back of 100000 sent: intact"
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v1 --client 2001:db8::7 5003
        assert_success
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v2 --client 2001:db8::8 5004
        assert_success
        wait_for_line "$ECHOD_OUT" "^closed connection from \('2001:db8::8', 5004, 0, 0\): 1000 bytes echoed$"
        run cat "$ECHOD_OUT"
        assert_line --regexp "^connection from \('192\.0\.2\.1', 5001\) via \('127\.0\.0\.1', [0-9]+\)$"
        assert_line "closed connection from ('192.0.2.1', 5001): 1 bytes echoed"
        assert_line --regexp "^connection from \('192\.0\.2\.2', 5002\) via \('127\.0\.0\.1', [0-9]+\)$"
        assert_line "closed connection from ('192.0.2.2', 5002): 100000 bytes echoed"
        assert_line --regexp "^connection from \('2001:db8::7', 5003, 0, 0\) via \('127\.0\.0\.1', [0-9]+\)$"
        refute_line --partial "without a valid PROXY header"
        # A second header, sent by the client through the balancer, is the client's data.
        run "$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = b"PROXY TCP4 203.0.113.66 192.0.2.2 6666 7\r\n"
s.sendall(b"PROXY TCP4 192.0.2.3 192.0.2.2 5005 7\r\n" + data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    c = s.recv(100)
    if not c:
        break
    got += c
print("intact" if got == data else got)' "$PORT"
        assert_output intact
        wait_for_line "$ECHOD_OUT" "^closed connection from \('192\.0\.2\.3', 5005\): 42 bytes echoed$"
        run grep -c 203.0.113.66 "$ECHOD_OUT"
        assert_output 0
        echod_stop
}

@test "--proxy-protocol: a header in pieces, and one with TLVs up to 1024 bytes, then 1 MiB intact" {
        echod_start --proxy-protocol "127.0.0.1:$PORT"
        for h in v1 v2 unknown local; do
                run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header "$h" --pieces --bytes 5000
                assert_success
                assert_output "5000 bytes back of 5000 sent: intact"
        done
        # 16 + 12 address bytes + 996 TLV bytes: the longest header taken.
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v2 --tlv-bytes 996 --bytes 1048576
        assert_success
        assert_output "1048576 bytes back of 1048576 sent: intact"
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v2 --tlv-bytes 997 --expect-nothing
        assert_success
        assert_output --regexp '^nothing back '
        echod_stop
}

@test "--proxy-protocol: LOCAL and UNKNOWN (health checks) are echoed as from the balancer itself" {
        echod_start -v --proxy-protocol "127.0.0.1:$PORT"
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header local --bytes 20
        assert_success
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header unknown --bytes 20
        assert_success
        wait_for_line "$ECHOD_OUT" '^closed connection from .*: 20 bytes echoed$' 5 2
        run cat "$ECHOD_OUT"
        assert_line --regexp "^connection from \('127\.0\.0\.1', [0-9]+\) \(the balancer's own, PROXY LOCAL\)$"
        assert_line --regexp "^connection from \('127\.0\.0\.1', [0-9]+\) \(the balancer's own, PROXY UNKNOWN\)$"
        echod_stop
}

# Receives sd_notify() datagrams on $BATS_TEST_TMPDIR/notify.sock, one line each in notify.log.
notify_listen() {
        "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    f.write("listening\n")
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")' \
                "$BATS_TEST_TMPDIR/notify.sock" "$BATS_TEST_TMPDIR/notify.log" 3>&- &
        track_pid "$!"
        wait_for_line "$BATS_TEST_TMPDIR/notify.log" '^listening$'
}

@test "--proxy-protocol: no valid header, nothing echoed; one notice for many, none per connection even with -v" {
        notify_listen
        NOTIFY_SOCKET=$BATS_TEST_TMPDIR/notify.sock echod_start -v --proxy-protocol "127.0.0.1:$PORT"
        # Raw data, a header that breaks the grammar, and a client that sends nothing at all.
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header none --expect-nothing
        assert_success
        run "$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
try:
    s.sendall(b"PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\nsecret")
    s.shutdown(socket.SHUT_WR)
    print(len(s.recv(100)), "bytes back")
except OSError as e:
    print("refused:", e)' "$PORT"
        assert_success
        refute_output --regexp '^[1-9][0-9]* bytes back'
        # Closed by the 3 s header timeout, long before --idle-timeout (300 s).
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --silent --expect-nothing --timeout 10
        assert_success
        assert_output --regexp '^nothing back \((closed|reset)\) after [2-9]\.[0-9] s$'
        # Half a header, then the client gives up: the bytes kept for it go with the connection.
        run "$PY" -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"PROXY TCP4 192.0.2")
time.sleep(0.2)
s.sendall(b".1 192.0")
time.sleep(0.2)
s.close()' "$PORT"
        assert_success
        for i in $(seq 1 29); do
                "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header none --expect-nothing >/dev/null || return 1
        done
        # The 33 refusals: one notice (the first), no line per connection.
        run cat "$ECHOD_OUT"
        assert_equal "$(count_lines "$ECHOD_OUT" 'without a valid PROXY header')" 1
        assert_line --regexp "^closed 1 connection without a valid PROXY header, the latest from \('127\.0\.0\.1', [0-9]+\): not a PROXY protocol header "
        refute_line --regexp '^(connection from|closed connection from)'
        # Still serving proper headers.
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v2
        assert_success
        # STATUS= counts the refused apart from the served (at most once a second).
        wait_for_line "$BATS_TEST_TMPDIR/notify.log" '^STATUS=0 connections, 1 served, 1000 bytes echoed, 33 without a PROXY header$'
        echod_stop
}

@test "without --proxy-protocol a PROXY header is just bytes: echoed, never taken for a client" {
        echod_start -v "127.0.0.1:$PORT"
        run "$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
line = b"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\nhello"
s.sendall(line)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    c = s.recv(100)
    if not c:
        break
    got += c
print("intact" if got == line else got)' "$PORT"
        assert_success
        assert_output intact
        run grep -c "192.0.2.1" "$ECHOD_OUT"
        assert_output 0
        echod_stop
}

@test "--proxy-protocol under socket activation: Accept=no and Accept=yes (systemd-socket-activate)" {
        local log=$BATS_TEST_TMPDIR/activate.log
        systemd-socket-activate -l "127.0.0.1:$PORT" "$ECHOD" -v --proxy-protocol >"$log" 2>&1 3>&- &
        track_pid "$!"
        wait_for_line "$log" '^Listening on '
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v2 --client 198.51.100.1 4001
        assert_success
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header none --expect-nothing
        assert_success
        wait_for_line "$log" "^closed connection from \('198\.51\.100\.1', 4001\): 1000 bytes echoed$"
        wait_for_line "$log" '^closed 1 connection without a valid PROXY header'
        teardown_tracked

        systemd-socket-activate -a -l "127.0.0.1:$PORT" "$ECHOD" -v --proxy-protocol >"$log" 2>&1 3>&- &
        track_pid "$!"
        wait_for_line "$log" '^Listening on '
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header v1 --client 198.51.100.2 4002
        assert_success
        run "${PROXY_CLIENT[@]}" 127.0.0.1 "$PORT" --header none --expect-nothing
        assert_success
        wait_for_line "$log" '^Child [0-9]+ died with code 0$' 5 2
        run cat "$log"
        assert_line "closed connection from ('198.51.100.2', 4002): 1000 bytes echoed"
        assert_line --regexp '^closed 1 connection without a valid PROXY header'
}
