#!/usr/bin/env bats
# The core issue: the seed's walk-through in C, standalone echod, echo-client, bad input.

load '../helpers/common'

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
}

# The seed client's lines after "connecting to ...".
seed_exchange() {
        printf '%s\n' "sending b'This is the message.  It will be repeated.'" \
                "received b'This is the mess'" \
                "received b'age.  It will be'" \
                "received b' repeated.'" \
                "closing socket"
}

easy_header() {
        printf 'Family  : %s\nType    : SOCK_STREAM\nProtocol: IPPROTO_TCP\n\n' "$1"
}

@test "echo-client prints the seed's exchange byte for byte" {
        echod_start -n 2 "localhost:$PORT"
        run "$ECHO_CLIENT" localhost "$PORT"
        assert_success
        assert_output "$(printf 'connecting to localhost port %s\n' "$PORT"; seed_exchange)"
        # One line per bound socket, in the seed's words: localhost is ::1 and 127.0.0.1.
        assert_equal "$(cat "$ECHOD_OUT")" "$(printf 'starting up on localhost port %s\n' "$PORT" "$PORT")"
        echod_stop
}

@test "localhost is ::1 and 127.0.0.1 (RFC 6761), whatever /etc/hosts says" {
        echod_start -n 2 -v "LocalHost.:$PORT"
        for host in 127.0.0.1 ::1; do
                run "$ECHO_CLIENT" -q "$host" "$PORT"
                assert_success
        done
        wait_for_line "$ECHOD_OUT" '^closed connection from' 5 2
        grep -qE "^connection from \('127\.0\.0\.1', [0-9]+\)$" "$ECHOD_OUT"
        grep -qE "^connection from \('::1', [0-9]+, 0, 0\)$" "$ECHOD_OUT"
        # Not 127.0.0.2: localhost is the loopback address, not the whole of 127.0.0.0/8.
        run "$ECHO_CLIENT" -q -t 2 127.0.0.2 "$PORT"
        assert_failure 3
        echod_stop
}

@test "echo-client --info prints the seed's easy-client header, IPv4 and IPv6" {
        echod_start -n 2 "127.0.0.1:$PORT" "[::1]:$PORT"
        run "$ECHO_CLIENT" --info 127.0.0.1 "$PORT"
        assert_success
        assert_output "$(easy_header AF_INET; seed_exchange)"
        run "$ECHO_CLIENT" -i ::1 "$PORT"
        assert_success
        assert_output "$(easy_header AF_INET6; seed_exchange)"
        echod_stop
}

@test "with no address echod serves localhost port 10000 and echo-client finds it" {
        if ! "$PY" -c 'import socket; socket.socket().bind(("127.0.0.1", 10000))' 2>/dev/null; then
                skip "port 10000 is busy on this machine"
        fi
        echod_start
        assert_equal "$(head -1 "$ECHOD_OUT")" "starting up on localhost port 10000"
        run "$ECHO_CLIENT"
        assert_success
        assert_output "$(printf 'connecting to localhost port 10000\n'; seed_exchange)"
        echod_stop
}

@test "the seed's Python clients get their echo from echod (socket_echo_client, _easy)" {
        echod_start "localhost:$PORT"
        run "$PY" "$HELPERS/seed/socket_echo_client.py" localhost "$PORT"
        assert_success
        assert_output "$(printf 'connecting to localhost port %s\n' "$PORT"; seed_exchange)"
        run "$PY" "$HELPERS/seed/socket_echo_client_easy.py" localhost "$PORT"
        assert_success
        assert_output "$(easy_header AF_INET; seed_exchange)"
        echod_stop
}

@test "echo-client gets its echo from the seed's Python server, whose trace matches echod -vv" {
        local out=$BATS_TEST_TMPDIR/py.out port2
        "$PY" "$HELPERS/seed/socket_echo_server.py" localhost "$PORT" >"$out" 2>&1 3>&- &
        track_pid $!
        wait_for_line "$out" '^waiting for a connection'
        run "$ECHO_CLIENT" localhost "$PORT"
        assert_success
        assert_output "$(printf 'connecting to localhost port %s\n' "$PORT"; seed_exchange)"
        wait_for_line "$out" '^no data from'

        port2=$(free_port)
        echod_start -vv "localhost:$port2"
        run "$ECHO_CLIENT" localhost "$port2"
        assert_success
        wait_for_line "$ECHOD_OUT" '^closed connection'
        # The same trace, line for line, from the first "received" to "no data from".
        diff <(grep -E '^(received|sending|no data|connection from)' "$out" | sed -E 's/[0-9]+\)$/PORT)/') \
             <(grep -E '^(received|sending|no data|connection from)' "$ECHOD_OUT" | sed -E 's/[0-9]+\)$/PORT)/')
        echod_stop
}

@test "echod binds the machine's hostname, 0.0.0.0, [::1], *:PORT and :PORT" {
        local host
        host=$(hostname)
        echod_start "$host:$PORT"
        grep -qx "starting up on $host port $PORT" "$ECHOD_OUT"
        run "$ECHO_CLIENT" -q "$host" "$PORT"
        assert_success
        echod_stop

        echod_start "0.0.0.0:$PORT"
        assert_equal "$(cat "$ECHOD_OUT")" "starting up on 0.0.0.0 port $PORT"
        run "$ECHO_CLIENT" -q 127.0.0.2 "$PORT"
        assert_success
        echod_stop

        echod_start "[::1]:$PORT"
        assert_equal "$(cat "$ECHOD_OUT")" "starting up on ::1 port $PORT"
        run "$ECHO_CLIENT" -q ::1 "$PORT"
        assert_success
        echod_stop

        echod_start -n 2 "*:$PORT"
        assert_equal "$(sort "$ECHOD_OUT")" "$(printf 'starting up on 0.0.0.0 port %s\nstarting up on :: port %s' "$PORT" "$PORT")"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        run "$ECHO_CLIENT" -q ::1 "$PORT"
        assert_success
        echod_stop

        echod_start -n 2 ":$PORT"
        run "$ECHO_CLIENT" -q ::1 "$PORT"
        assert_success
        echod_stop
}

@test "[::] and 0.0.0.0 on one port coexist (IPV6_V6ONLY)" {
        echod_start -n 2 "0.0.0.0:$PORT" "[::]:$PORT"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        run "$ECHO_CLIENT" -q ::1 "$PORT"
        assert_success
        echod_stop
}

@test "300 kB of random binary data through -f FILE and -f - come back intact" {
        head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/random.bin"
        echod_start "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -f "$BATS_TEST_TMPDIR/random.bin" 127.0.0.1 "$PORT"
        assert_success
        assert_line "received 300000 bytes, identical to what was sent"
        run "$ECHO_CLIENT" -q -f - 127.0.0.1 "$PORT" <"$BATS_TEST_TMPDIR/random.bin"
        assert_success
        assert_output ""
        echod_stop
}

@test "-m MESSAGE with quotes, tabs and bytes >= 0x80 is shown as Python's repr" {
        echod_start "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -m $'it\'s\t\xc3\xa9' 127.0.0.1 "$PORT"
        assert_success
        assert_line --index 1 "sending b\"it's\\t\\xc3\\xa9\""
        assert_line --index 2 "received b\"it's\\t\\xc3\\xa9\""
        echod_stop
}

@test "1000 concurrent clients, random payloads up to 256 KiB in random pieces, all intact" {
        echod_start "127.0.0.1:$PORT"
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$PORT" --clients 1000 --max-bytes 262144 --timeout 120
        assert_success
        assert_output --partial "1000 of 1000 clients intact"
        echod_stop
}

@test "-v logs one line per connection opened and closed, with bytes echoed" {
        echod_start -v "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        wait_for_line "$ECHOD_OUT" '^closed connection from'
        run grep -cE "^connection from \('127\.0\.0\.1', [0-9]+\)$" "$ECHOD_OUT"
        assert_output 1
        run grep -cE "^closed connection from \('127\.0\.0\.1', [0-9]+\): 42 bytes echoed$" "$ECHOD_OUT"
        assert_output 1
        run grep -c "received" "$ECHOD_OUT"
        assert_output 0
        echod_stop
}

@test "--help and --version of both binaries" {
        local version
        run "$ECHOD" --help
        assert_success
        assert_line --index 0 "Usage: echod [OPTION]... [ADDRESS]..."
        run "$ECHO_CLIENT" --help
        assert_success
        assert_line --index 0 "Usage: echo-client [OPTION]... [HOST [PORT] | ADDRESS]"
        version=$(sed -n "s/^  version: '\(.*\)',$/\1/p" "$ROOT/meson.build")
        [ -n "$version" ]
        run "$ECHOD" --version
        assert_success
        assert_output "echod $version"
        run "$ECHO_CLIENT" --version
        assert_output "echo-client $version"
}

# --- bad input: one line on stderr naming what was wrong, a documented exit status

# bad_run STATUS TEXT PROGRAM ARGS...: exit status STATUS and exactly one stderr line holding TEXT.
bad_run() {
        local want=$1 text=$2; shift 2
        run --separate-stderr "$@"
        assert_equal "$status" "$want"
        assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
        [[ "$stderr" == *"$text"* ]] || { echo "stderr: $stderr (want: $text)"; return 1; }
        assert_no_sanitizer_report <(printf '%s' "$stderr")
}

@test "echod refuses a port out of range or not a number (exit 2), an unknown service (exit 3)" {
        bad_run 2 "invalid address 'localhost:70000': port must be a number from 1 to 65535" "$ECHOD" localhost:70000
        bad_run 2 "invalid address ':0'" "$ECHOD" :0
        bad_run 2 "port must be a number" "$ECHOD" 'localhost:12ab'
        bad_run 3 "cannot resolve 'localhost:no-such-service': unknown service name" "$ECHOD" localhost:no-such-service
        bad_run 3 "unknown service name" "$ECHOD" :nosuchservice
}

@test "echod refuses a name that does not resolve (exit 3) and a malformed [v6 (exit 2)" {
        bad_run 3 "cannot resolve 'no\$such\$host'" "$ECHOD" 'no$such$host:10000'
        bad_run 2 "invalid address '[::1': '[' without a closing ']'" "$ECHOD" '[::1'
        bad_run 2 "needs brackets" "$ECHOD" '::1:10000:1'
}

@test "echod says which address is already in use (exit 4)" {
        echod_start "127.0.0.1:$PORT"
        bad_run 4 "cannot listen on 127.0.0.1 port $PORT: address already in use" "$ECHOD" "127.0.0.1:$PORT"
        # The first address was bound, but echod never served: no "starting up on" line for it.
        port2=$(free_port)
        bad_run 4 "cannot listen on 127.0.0.1 port $PORT: address already in use" "$ECHOD" "127.0.0.1:$port2" "127.0.0.1:$PORT"
        assert_equal "$output" ""
        echod_stop
}

@test "echod refuses unknown options and bad option values (exit 2)" {
        bad_run 2 "unknown option '--frobnicate'" "$ECHOD" --frobnicate
        bad_run 2 "unknown option '-x'" "$ECHOD" -x
        bad_run 2 "invalid value for --max-connections: '-5'" "$ECHOD" --max-connections -5
        bad_run 2 "option '--idle-timeout' needs a value" "$ECHOD" --idle-timeout
}

@test "echo-client: refused connection, unresolvable name, bad port, unknown option" {
        bad_run 3 "cannot connect to 127.0.0.1 port $PORT: connection refused" "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        bad_run 3 "cannot resolve 'no\$such\$host'" "$ECHO_CLIENT" -q 'no$such$host' "$PORT"
        bad_run 2 "invalid port '70000'" "$ECHO_CLIENT" localhost 70000
        bad_run 3 "unknown port or service 'no-such-service'" "$ECHO_CLIENT" -q localhost no-such-service
        bad_run 2 "unknown option '--frobnicate'" "$ECHO_CLIENT" --frobnicate
        bad_run 2 "too many arguments" "$ECHO_CLIENT" a 1 extra
        bad_run 4 "cannot open /nonexistent" "$ECHO_CLIENT" -f /nonexistent localhost "$PORT"
}

@test "echo-client exits 1 when the echo differs or is cut short" {
        local out=$BATS_TEST_TMPDIR/liar.out
        # Echoes upper-case on the first connection; the second gets 10 bytes back, then FIN.
        "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("ready", flush=True)
c, _ = s.accept(); d = b""
while True:
    x = c.recv(4096)
    if not x: break
    d += x
c.sendall(d.upper()); c.close()
c, _ = s.accept(); c.sendall(c.recv(10)); c.shutdown(socket.SHUT_WR)
while c.recv(4096): pass
c.close()
' "$PORT" >"$out" 3>&- &
        track_pid $!
        wait_for_line "$out" '^ready'
        bad_run 1 "echo differs from what was sent at byte 2" "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        bad_run 1 "server closed the connection after echoing 10 of 42 bytes" "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
}
