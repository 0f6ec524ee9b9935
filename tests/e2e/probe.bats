#!/usr/bin/env bats
# echo-client's probe (-c, --interval, -s, -W, -w, --keep, -u, --json): against echod over TCP
# and UDP, against servers nobody here wrote (asyncio's documented echo servers, socat,
# openbsd-inetd's built-in echo on port 7 in a network namespace of the test's own) and against
# servers that misbehave on purpose (tests/helpers/odd_echo.py).

load '../helpers/common'

setup() {
        PORT=$(free_port --udp)
        NETNS=
}

teardown() {
        teardown_tracked
        if [ -n "$NETNS" ]; then ip netns del "$NETNS" 2>/dev/null || true; fi
}

# odd_start ARGS...: tests/helpers/odd_echo.py PORT ARGS..., once it printed "ready".
odd_start() {
        local out=$BATS_TEST_TMPDIR/odd.out
        "$PY" "$HELPERS/odd_echo.py" "$PORT" "$@" >"$out" 2>&1 3>&- &
        track_pid $!
        wait_for_line "$out" '^ready$'
}

# sa_udp_start [ARGS...]: a UDP socket on 127.0.0.1:PORT, passed by systemd-socket-activate to
# echod ARGS, which it starts at the first datagram; the log is $SA_LOG.
sa_udp_start() {
        SA_LOG=$BATS_TEST_TMPDIR/sa.log
        systemd-socket-activate --datagram -l "127.0.0.1:$PORT" "$ECHOD" "$@" >"$SA_LOG" 2>&1 3>&- &
        track_pid $!
        wait_for_line "$SA_LOG" "^Listening on 127\.0\.0\.1:$PORT as 3\.$"
}

# wait_listening tcp|udp PORT: waits up to 5 s until something listens on (or is bound to) PORT.
wait_listening() {
        local deadline=$((SECONDS + 6)) flag=-Hltn
        [ "$1" = udp ] && flag=-Hlun
        until [ -n "$(ss "$flag" "sport = :$2")" ]; do
                [ "$SECONDS" -lt "$deadline" ] || { echo "nothing listens on $1 port $2" >&2; return 1; }
                sleep 0.02
        done
}

# Regex of an intact probe's line: probe_line SEQ [connect|noconnect] [SIZE] [ADDR].
probe_line() {
        local connect='connect=[0-9.]+ ms '
        [ "${2:-connect}" = connect ] || connect=
        printf '^%s bytes from %s port %s: seq=%s %stime=[0-9.]+ ms$' "${3:-64}" "${4:-127\.0\.0\.1}" "$PORT" "$1" "$connect"
}

# json_check FILE PYTHON-EXPRESSION...: each expression, with `j` the object parsed by python3's
# json module from FILE (which must hold exactly one JSON text), is true.
json_check() {
        local file=$1; shift
        "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
for e in sys.argv[2:]:
    if not eval(e):
        sys.exit("false: " + e + "\n" + json.dumps(j, indent=1)[:3000])
' "$file" "$@"
}

@test "TCP against echod: a connection per probe, a ping-like line each, the summary in ping's words" {
        echod_start -v "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -c 3 --interval 0.05 "127.0.0.1:$PORT"
        assert_success
        assert_line --index 0 "ECHO 127.0.0.1 port $PORT (127.0.0.1): 64 bytes per probe, TCP, a connection per probe"
        for seq in 1 2 3; do
                assert_line --index "$seq" --regexp "$(probe_line "$seq")"
        done
        # `lines` leaves out the empty line before the summary, as ping prints it.
        assert_line --index 4 "--- 127.0.0.1 port $PORT echo statistics ---"
        assert_line --index 5 --regexp '^3 probes sent, 3 intact, 0% loss, time [0-9]+ ms$'
        assert_line --index 6 --regexp '^rtt min/avg/max/mdev = [0-9]+\.[0-9]{3}/[0-9]+\.[0-9]{3}/[0-9]+\.[0-9]{3}/[0-9]+\.[0-9]{3} ms$'
        assert_equal "${#lines[@]}" 7
        assert_equal "$(printf '%s\n' "$output" | sed -n 5p)" ""
        # One connection per probe, each 64 bytes, each closed by the client's half-close.
        wait_for_line "$ECHOD_OUT" '^closed connection from .*64 bytes' 5 3
        assert_equal "$(count_lines "$ECHOD_OUT" '^connection from')" 3
        echod_stop
}

@test "--keep: every probe over one connection; only the first line has a connect time" {
        echod_start -v "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" --keep -c 4 -s 1000 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        assert_line --index 1 --regexp "$(probe_line 1 connect 1000)"
        for seq in 2 3 4; do
                assert_line --index "$seq" --regexp "$(probe_line "$seq" noconnect 1000)"
        done
        assert_line --regexp '^4 probes sent, 4 intact, 0% loss'
        wait_for_line "$ECHOD_OUT" '^closed connection from .*4000 bytes'
        assert_equal "$(count_lines "$ECHOD_OUT" '^connection from')" 1
        echod_stop
}

@test "-u against echod's UDP socket: datagrams of 1, 64 and 65507 bytes (the largest), all intact" {
        sa_udp_start
        for size in 1 64 65507; do
                run "$ECHO_CLIENT" -u -c 3 -s "$size" --interval 0.02 "127.0.0.1:$PORT"
                assert_success
                assert_line --index 0 "ECHO 127.0.0.1 port $PORT (127.0.0.1): $size bytes per probe, UDP"
                assert_line --index 3 --regexp "$(probe_line 3 noconnect "$size")"
                assert_line --regexp '^3 probes sent, 3 intact, 0% loss'
        done
        assert_equal "$(count_lines "$SA_LOG" "^starting up on 127\.0\.0\.1 port $PORT \(fd 3, UDP\)$")" 1
}

@test "the address forms of echod as one argument: 127.0.0.1:PORT, [::1]:PORT, localhost:PORT" {
        echod_start -n 2 "127.0.0.1:$PORT" "[::1]:$PORT"
        run "$ECHO_CLIENT" -c 1 "[::1]:$PORT"
        assert_success
        assert_line --index 1 --regexp "$(probe_line 1 connect 64 ::1)"
        run "$ECHO_CLIENT" -c 1 -4 "localhost:$PORT"
        assert_success
        assert_line --index 1 --regexp "$(probe_line 1)"
        run "$ECHO_CLIENT" -q "[::1]:$PORT"
        assert_success
        # The seed's exchange, byte for byte, with the address as one argument.
        run "$ECHO_CLIENT" "127.0.0.1:$PORT"
        assert_success
        assert_output "$(printf '%s\n' "connecting to 127.0.0.1 port $PORT" \
                "sending b'This is the message.  It will be repeated.'" "received b'This is the mess'" \
                "received b'age.  It will be'" "received b' repeated.'" "closing socket")"
        echod_stop
}

@test "one parser for both programs: malformed addresses give echod's own reason" {
        local a why
        for a in '[::1' '[]:7' '[::1]x' '1::2::3' '[1.2.3.4]:7' 'host:0' 'host:70000' 'host:' 'x]:7'; do
                why=$("$ECHOD" "$a" 2>&1 >/dev/null) && fail "echod accepted '$a'"
                why=${why#*"invalid address '$a': "}
                run --separate-stderr "$ECHO_CLIENT" -q "$a"
                assert_failure 2
                assert_equal "$stderr" "echo-client: invalid address '$a': $why"
        done
        run --separate-stderr "$ECHO_CLIENT" -q ":$PORT"
        assert_failure 2
        assert_equal "$stderr" "echo-client: invalid address ':$PORT': no host to connect to"
}

@test "--json lists the first 10000 probes and counts the rest (10002 UDP probes to echod)" {
        # 1000 probes a second from one source: far over echod's default --udp-rate (50).
        sa_udp_start --udp-rate 0 --udp-global-rate 0
        run --separate-stderr "$ECHO_CLIENT" -u --json -c 10002 -s 8 --interval 0.001 "127.0.0.1:$PORT"
        # UDP: on a loaded machine the kernel may drop a datagram or two (exit 1); the listing
        # is what this test is about.
        [ "$status" -eq 0 ] || [ "$status" -eq 1 ]
        printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/j"
        json_check "$BATS_TEST_TMPDIR/j" 'j["sent"] == 10002 and j["intact"] + j["lost"] == 10002' \
                'j["intact"] >= 9990' \
                'len(j["probes"]) == 10000 and j["probes_not_listed"] == 2' \
                '[p["seq"] for p in j["probes"]] == list(range(1, 10001))'
}

@test "UDP, a server that drops every other datagram: exactly 50% loss, exit 1" {
        odd_start --udp --drop-every-other
        run "$ECHO_CLIENT" -u -c 6 -W 0.3 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 1
        for seq in 1 3 5; do assert_line --index "$seq" --regexp "$(probe_line "$seq" noconnect)"; done
        for seq in 2 4 6; do assert_line --index "$seq" "from 127.0.0.1 port $PORT: seq=$seq timeout"; done
        assert_line --regexp '^6 probes sent, 3 intact, 50% loss, time [0-9]+ ms$'
        run "$ECHO_CLIENT" -u -c 4 -W 0.3 --interval 0.02 --json "127.0.0.1:$PORT"
        assert_failure 1
        printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/j"
        json_check "$BATS_TEST_TMPDIR/j" 'j["sent"] == 4' 'j["intact"] == 2' 'j["lost"] == 2' \
                'j["loss_percent"] == 50' 'j["protocol"] == "udp"' \
                '[p["result"] for p in j["probes"]] == ["intact", "lost"] * 2' \
                'j["probes"][1]["reason"] == "timeout"' 'j["rtt_ms"]["min"] <= j["rtt_ms"]["max"]'
}

@test "a stale echo is caught: each probe's payload differs; UDP: the echo of an earlier probe is not this one's" {
        odd_start --udp --stale
        run "$ECHO_CLIENT" -u -c 3 -W 0.2 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 1
        assert_line --index 1 --regexp "$(probe_line 1 noconnect)"
        assert_line --index 2 "from 127.0.0.1 port $PORT: seq=2 timeout"
        assert_line --index 3 "from 127.0.0.1 port $PORT: seq=3 timeout"
        assert_line --regexp '^3 probes sent, 1 intact, 66\.6667% loss'
}

@test "a closed port: TCP refused, UDP port unreachable (ICMP), 100% loss, exit 3" {
        run "$ECHO_CLIENT" -c 2 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 3
        assert_line --index 1 "from 127.0.0.1 port $PORT: seq=1 refused"
        assert_line --index 2 "from 127.0.0.1 port $PORT: seq=2 refused"
        assert_line --regexp '^2 probes sent, 0 intact, 100% loss'
        refute_line --partial 'rtt'
        run "$ECHO_CLIENT" -u -c 3 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 3
        for seq in 1 2 3; do assert_line --index "$seq" "from 127.0.0.1 port $PORT: seq=$seq port unreachable"; done
        assert_line --regexp '^3 probes sent, 0 intact, 100% loss'
        run "$ECHO_CLIENT" -u -c 2 --interval 0.02 --json "127.0.0.1:$PORT"
        assert_failure 3
        printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/j"
        json_check "$BATS_TEST_TMPDIR/j" 'j["sent"] == 2 and j["intact"] == 0' 'j["rtt_ms"] is None' \
                'j["loss_percent"] == 100' 'j["probes"][0]["reason"] == "port unreachable"'
}

@test "a server that delays its echo by 1 s: -W 0.2 expires on every probe, TCP and UDP (late echoes ignored)" {
        odd_start --delay 1
        run "$ECHO_CLIENT" -c 2 -W 0.2 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 3
        assert_line --index 1 "from 127.0.0.1 port $PORT: seq=1 timeout"
        assert_line --index 2 "from 127.0.0.1 port $PORT: seq=2 timeout"
        teardown_tracked
        odd_start --udp --delay 0.3
        # The echo of probe N arrives during probe N+1 or N+2: late, not a wrong echo.
        run "$ECHO_CLIENT" -u -c 5 -W 0.2 --interval 0.01 "127.0.0.1:$PORT"
        assert_failure 3
        for seq in 1 2 3 4 5; do assert_line --index "$seq" "from 127.0.0.1 port $PORT: seq=$seq timeout"; done
        assert_line --regexp '^5 probes sent, 0 intact, 100% loss'
        # With -W longer than the delay each probe comes back.
        run "$ECHO_CLIENT" -u -c 2 -W 2 --interval 0.01 "127.0.0.1:$PORT"
        assert_success
}

@test "-w: the deadline ends a run that has no -c, and cuts the probe in flight" {
        echod_start "127.0.0.1:$PORT"
        run timeout 10 "$ECHO_CLIENT" -w 0.5 --interval 0.1 "127.0.0.1:$PORT"
        assert_success
        assert_line --regexp '^([0-9]+) probes sent, \1 intact, 0% loss'
        echod_stop
        teardown_tracked
        odd_start --delay 5
        run timeout 10 "$ECHO_CLIENT" -w 0.3 "127.0.0.1:$PORT"
        assert_failure 3
        assert_line --index 1 "from 127.0.0.1 port $PORT: seq=1 timeout"
        assert_line --regexp '^1 probes sent, 0 intact, 100% loss, time [0-9]+ ms$'
}

@test "Ctrl-C (SIGINT) during a run: the summary of the probes so far, exit 0" {
        echod_start "127.0.0.1:$PORT"
        local out=$BATS_TEST_TMPDIR/probe.out pid status=0
        "$ECHO_CLIENT" -c 100000 --interval 0.02 "127.0.0.1:$PORT" >"$out" 2>&1 3>&- &
        pid=$!
        track_pid "$pid"
        wait_for_line "$out" ' seq=3 '
        kill -INT "$pid"
        wait_gone "$pid" 5
        wait "$pid" || status=$?
        assert_equal "$status" 0
        run cat "$out"
        assert_line "--- 127.0.0.1 port $PORT echo statistics ---"
        assert_line --regexp '^([0-9]+) probes sent, \1 intact, 0% loss'
        assert_line --regexp '^rtt min/avg/max/mdev = '
        # As many lines as probes counted: the one Ctrl-C cut short is not counted.
        assert_equal "$(grep -c ' seq=' "$out")" "$(sed -n 's/ probes sent.*//p' "$out")"
        echod_stop
}

@test "--json: one object that python3's json module parses, with every probe" {
        echod_start "127.0.0.1:$PORT"
        run --separate-stderr "$ECHO_CLIENT" --json -c 3 -s 100 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        assert_equal "$stderr" ""
        assert_equal "${#lines[@]}" 1
        printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/j"
        json_check "$BATS_TEST_TMPDIR/j" \
                'j["host"] == "127.0.0.1" and j["port"] == "'"$PORT"'" and j["protocol"] == "tcp"' \
                'j["size"] == 100 and j["sent"] == 3 and j["intact"] == 3 and j["lost"] == 0' \
                'j["loss_percent"] == 0 and j["differed"] == 0 and j["time_ms"] > 0' \
                'set(j["rtt_ms"]) == {"min", "avg", "max", "mdev"}' \
                'j["rtt_ms"]["min"] <= j["rtt_ms"]["avg"] <= j["rtt_ms"]["max"] and j["rtt_ms"]["mdev"] >= 0' \
                '[p["seq"] for p in j["probes"]] == [1, 2, 3]' \
                'all(p["result"] == "intact" and p["address"] == "127.0.0.1" for p in j["probes"])' \
                'all(p["connect_ms"] >= 0 and p["time_ms"] >= 0 for p in j["probes"])' \
                'j["probes_not_listed"] == 0'
        echod_stop
}

@test "a server that closes at the client's half-close (as ncat --sh-exec cat): -m and probes still intact" {
        # It echoes each chunk 0.1 s late, and drops what is pending when the client half-closes.
        odd_start --close-on-eof 0.1
        run "$ECHO_CLIENT" -q -m 'read back before the half-close' "127.0.0.1:$PORT"
        assert_success
        run "$ECHO_CLIENT" "127.0.0.1:$PORT"
        assert_success
        assert_line 'received b'"' repeated.'"
        run "$ECHO_CLIENT" -c 2 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        run "$ECHO_CLIENT" -q -f "$BATS_TEST_TMPDIR/in" "127.0.0.1:$PORT"
        assert_success
        # socat quitting at once at end of input (-t 0) with cat behind it, as ncat --sh-exec does.
        teardown_tracked
        socat -t 0 "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" EXEC:cat 3>&- &
        track_pid $!
        wait_listening tcp "$PORT"
        run "$ECHO_CLIENT" -c 3 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        run "$ECHO_CLIENT" -q "127.0.0.1:$PORT"
        assert_success
}

@test "a server that closes early: the message says what happened and what to try" {
        odd_start --cut 10
        run --separate-stderr "$ECHO_CLIENT" -q "127.0.0.1:$PORT"
        assert_failure 1
        assert_equal "$stderr" "echo-client: server closed the connection after echoing 10 of 42 bytes, before echo-client half-closed: it ended the exchange itself (a limit or a fault on its side)"
        run "$ECHO_CLIENT" -c 1 "127.0.0.1:$PORT"
        assert_failure 1
        assert_line --index 1 "from 127.0.0.1 port $PORT: seq=1 closed by the server after 10 of 64 bytes"
        teardown_tracked
        # Silent until the half-close, then it quits: what was not echoed is lost.
        odd_start --close-on-eof 5
        run --separate-stderr "$ECHO_CLIENT" -q -m abc "127.0.0.1:$PORT"
        assert_failure 1
        assert_equal "$stderr" "echo-client: server closed the connection after echoing 0 of 3 bytes, once echo-client half-closed: it drops what it has not echoed at the end of input (as ncat --sh-exec can); try the probe (-c 1 -W SEC), which waits for the whole echo"
}

@test "a probe's echo that differs: 'differs at byte 17', exit 1; over --keep the next probe reconnects" {
        odd_start --flip 16
        run "$ECHO_CLIENT" -c 2 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 1
        assert_line --index 1 "from 127.0.0.1 port $PORT: seq=1 differs at byte 17"
        assert_line --index 2 "from 127.0.0.1 port $PORT: seq=2 differs at byte 17"
        assert_line --regexp '^2 probes sent, 0 intact, 100% loss'
        # One connection, one stream: probe 1 is offsets 0-9, probe 2 offsets 10-19 (byte 7 is 16).
        # A failed probe closes the connection: probe 3 connects again, at offset 0 of a new stream.
        run "$ECHO_CLIENT" --keep -c 3 -s 10 --interval 0.02 "127.0.0.1:$PORT"
        assert_failure 1
        assert_line --index 1 --regexp "$(probe_line 1 connect 10)"
        assert_line --index 2 "from 127.0.0.1 port $PORT: seq=2 differs at byte 7"
        assert_line --index 3 --regexp "$(probe_line 3 connect 10)"
        assert_line --regexp '^3 probes sent, 2 intact, 33\.3333% loss'
}

@test "a name with two addresses: each probe tries both, the errors name each, the one that answers is kept" {
        printf '%s\n' '127.0.0.1 localhost' '::1 twohomed' '127.0.0.1 twohomed' >"$BATS_TEST_TMPDIR/hosts"
        printf 'multi on\n' >"$BATS_TEST_TMPDIR/host.conf"
        in_hosts() {
                unshare --mount --propagation private sh -c 'mount --bind "$0/hosts" /etc/hosts &&
                        mount --bind "$0/host.conf" /etc/host.conf && exec "$@"' \
                        "$BATS_TEST_TMPDIR" "$@"
        }
        run --separate-stderr in_hosts "$ECHO_CLIENT" -q twohomed "$PORT"
        assert_failure 3
        assert_equal "$stderr" "echo-client: cannot connect to twohomed port $PORT: ::1: connection refused; 127.0.0.1: connection refused"
        run in_hosts "$ECHO_CLIENT" -c 1 "twohomed:$PORT"
        assert_failure 3
        assert_line --index 0 "ECHO twohomed port $PORT (::1, 127.0.0.1): 64 bytes per probe, TCP, a connection per probe"
        assert_line --index 1 "from twohomed port $PORT: seq=1 ::1 refused, 127.0.0.1 refused"
        echod_start "127.0.0.1:$PORT"
        run in_hosts "$ECHO_CLIENT" -c 2 --interval 0.02 --json "twohomed:$PORT"
        assert_success
        printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/j"
        json_check "$BATS_TEST_TMPDIR/j" '[p["address"] for p in j["probes"]] == ["127.0.0.1"] * 2'
        run in_hosts "$ECHO_CLIENT" -f /etc/hostname twohomed "$PORT"
        assert_success
        assert_line --index 1 "connected to 127.0.0.1 port $PORT"
        run --separate-stderr in_hosts "$ECHO_CLIENT" -6 -q twohomed "$PORT"
        assert_failure 3
        assert_equal "$stderr" "echo-client: cannot connect to twohomed port $PORT: ::1: connection refused"
        run in_hosts "$ECHO_CLIENT" -4 -c 1 "twohomed:$PORT"
        assert_success
        assert_line --index 0 --partial "(127.0.0.1):"
        echod_stop
}

@test "servers nobody here wrote: asyncio's documented echo servers, TCP and UDP" {
        local out=$BATS_TEST_TMPDIR/asyncio.out
        "$PY" "$HELPERS/asyncio_echo.py" "$PORT" >"$out" 2>&1 3>&- &
        track_pid $!
        wait_for_line "$out" '^ready$'
        run "$ECHO_CLIENT" -c 3 -s 2000 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        assert_line --regexp '^3 probes sent, 3 intact, 0% loss'
        run "$ECHO_CLIENT" --keep -c 3 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        run "$ECHO_CLIENT" -u -c 3 -s 1400 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        assert_line --regexp '^3 probes sent, 3 intact, 0% loss'
        run "$ECHO_CLIENT" "127.0.0.1:$PORT"
        assert_success
        assert_line --index 5 'closing socket'
}

@test "servers nobody here wrote: socat's TCP and UDP echo" {
        socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" PIPE 3>&- &
        track_pid $!
        socat "UDP-RECVFROM:$PORT,bind=127.0.0.1,fork" PIPE 3>&- &
        track_pid $!
        wait_listening tcp "$PORT"
        wait_listening udp "$PORT"
        run "$ECHO_CLIENT" -c 3 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        assert_line --index 3 --regexp "$(probe_line 3)"
        run "$ECHO_CLIENT" --keep -c 3 -s 65507 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        run "$ECHO_CLIENT" -u -c 3 --interval 0.02 "127.0.0.1:$PORT"
        assert_success
        assert_line --regexp '^3 probes sent, 3 intact, 0% loss'
}

@test "servers nobody here wrote: openbsd-inetd's built-in echo on port 7, in the test's own network namespace" {
        local inetd=/usr/sbin/inetd conf=$BATS_TEST_TMPDIR/inetd.conf log=$BATS_TEST_TMPDIR/inetd.log
        [ -x "$inetd" ] || skip "openbsd-inetd is not installed (apt-get install openbsd-inetd)"
        NETNS=echod-probe-$$-$BATS_TEST_NUMBER
        ip netns add "$NETNS"
        ip netns exec "$NETNS" ip link set lo up
        # inetd's built-in UDP echo ignores 127/8 sources (no echo loops with spoofed loopback):
        # an address of the namespace's own, on its loopback interface, is one it answers.
        ip netns exec "$NETNS" ip addr add 192.0.2.7/32 dev lo
        # Built-in services are found by name only: echo is port 7, in a namespace nobody else uses.
        printf '%s\n' 'echo stream tcp nowait root internal' 'echo dgram udp wait root internal' >"$conf"
        ip netns exec "$NETNS" unshare --mount --propagation private sh -c \
                'mount -t tmpfs tmpfs /run && exec "$0" -d "$1"' "$inetd" "$conf" >"$log" 2>&1 3>&- &
        track_pid $!
        wait_for_line "$log" '^ADD: echo proto=(tcp|udp)' 5 2
        run ip netns exec "$NETNS" "$ECHO_CLIENT" -c 3 --interval 0.02 127.0.0.1:7
        assert_success
        assert_line --index 0 "ECHO 127.0.0.1 port 7 (127.0.0.1): 64 bytes per probe, TCP, a connection per probe"
        assert_line --index 3 --regexp '^64 bytes from 127\.0\.0\.1 port 7: seq=3 connect=[0-9.]+ ms time=[0-9.]+ ms$'
        run ip netns exec "$NETNS" "$ECHO_CLIENT" -u -c 3 --interval 0.02 192.0.2.7:7
        assert_success
        assert_line --regexp '^3 probes sent, 3 intact, 0% loss'
        # From 127.0.0.1 it stays silent: loss, each probe after its -W.
        run ip netns exec "$NETNS" "$ECHO_CLIENT" -u -c 2 -W 0.2 --interval 0.02 127.0.0.1:7
        assert_failure 3
        assert_line --index 1 'from 127.0.0.1 port 7: seq=1 timeout'
        # The service name, through echod's parser; and the seed's exchange.
        run ip netns exec "$NETNS" "$ECHO_CLIENT" 127.0.0.1:echo
        assert_success
        assert_line --index 0 'connecting to 127.0.0.1 port 7'
        assert_line --index 5 'closing socket'
}
