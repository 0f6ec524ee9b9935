#!/usr/bin/env bats
# UDP echo on an open network (issue 10): no loops, no reflection to what cannot be a client, a
# rate per source and a global ceiling, replies from the address the client sent to, UDP served
# while TCP accepting is paused, and datagram sockets echod must refuse. Fixed ports (7) and
# interfaces with a broadcast address live in a network namespace each test makes; forged
# sources come from a raw socket there or on loopback. echod's drop counters are read from its
# STATUS= lines (NOTIFY_SOCKET). About 45 s per build.

load '../helpers/common'

UDP_TOOL=$ROOT/tests/helpers/udp_tool.py
PASS_FDS=$ROOT/tests/helpers/pass_fd_kinds.py

setup() {
        [ "$(id -u)" = 0 ] || skip "needs root (raw sockets, network namespaces, low ports)"
        NETNS=
}

teardown() {
        teardown_tracked
        if [ -n "${NETNS:-}" ]; then
                ip netns del "$NETNS"
        fi
}

# Makes a network namespace of this test's own, lo up, in $NETNS.
netns_new() {
        NETNS=echod-udp-$$-$BATS_TEST_NUMBER
        ip netns add "$NETNS"
        ip -n "$NETNS" link set lo up
}

# in_ns COMMAND...: runs COMMAND in $NETNS.
in_ns() {
        ip netns exec "$NETNS" "$@"
}

# udp_echod NAME NS KIND... [-- ARGS...]: starts echod in namespace NS ("" for the host's) with
# the sockets KIND... of pass_fd_kinds.py on fds 3, 4, ...; its stdout, stderr and notify
# messages in $BATS_TEST_TMPDIR/NAME.{out,err,notify}. Waits (bounded) until it announced every
# socket; sets PID_NAME.
udp_echod() {
        local name=$1 ns=$2 kinds=() wrap=() dir=$BATS_TEST_TMPDIR
        shift 2
        while [ $# -gt 0 ] && [ "$1" != -- ]; do kinds+=("$1"); shift; done
        [ $# -gt 0 ] && shift
        "$PY" "$UDP_TOOL" notify "$dir/$name.sock" "$dir/$name.notify" 3>&- &
        track_pid $!
        local deadline=$((SECONDS + 5))
        while [ ! -S "$dir/$name.sock" ]; do
                [ "$SECONDS" -lt "$deadline" ] || fail "no notify socket for $name"
                sleep 0.02
        done
        [ -n "$ns" ] && wrap=(ip netns exec "$ns")
        NOTIFY_SOCKET=$dir/$name.sock "${wrap[@]}" "$PY" "$PASS_FDS" "${kinds[@]}" -- "$ECHOD" "$@" \
                >"$dir/$name.out" 2>"$dir/$name.err" 3>&- &
        printf -v "PID_$name" %s $!
        track_pid $!
        wait_for_line "$dir/$name.out" '^starting up on ' 10 "${#kinds[@]}" ||
                fail "echod $name did not start: $(cat "$dir/$name.err")"
}

# status_wait NAME REGEX: waits (bounded) for a STATUS= of echod NAME matching REGEX.
status_wait() {
        wait_for_line "$BATS_TEST_TMPDIR/$1.notify" "STATUS=.*$2" 5
}

# udp_stop NAME: SIGTERM, exit 0, no sanitizer report (echod_stop for echod NAME).
udp_stop() {
        local pid="PID_$1"
        ECHOD_PID=${!pid} ECHOD_ERR=$BATS_TEST_TMPDIR/$1.err echod_stop
}

# CPU time (utime + stime, in clock ticks) that process $1 has used so far.
cpu_ticks() {
        local f
        read -ra f < <(sed 's/^.*) //' "/proc/$1/stat")
        echo $((f[11] + f[12]))
}

@test "the loop: a forged datagram between two echods on port 7 is dropped, and stays quiet" {
        netns_new
        udp_echod a "$NETNS" udp=127.0.0.1:7
        udp_echod b "$NETNS" udp=127.0.0.3:7
        # From b's address and port to a: without the filter each would echo the other forever.
        run in_ns "$PY" "$UDP_TOOL" forge 127.0.0.3 7 127.0.0.1 7
        assert_success
        status_wait a ', 0 datagrams, 1 dropped \(1 port, 0 address'
        local a0 b0
        a0=$(cpu_ticks "$PID_a") b0=$(cpu_ticks "$PID_b")
        sleep 2         # the measurement window: a loop would keep both cores busy through it
        local a1 b1
        a1=$(cpu_ticks "$PID_a") b1=$(cpu_ticks "$PID_b")
        echo "CPU ticks over 2 s: a $((a1 - a0)), b $((b1 - b0))"
        [ $((a1 - a0)) -le 10 ] || fail "echod a used $((a1 - a0)) ticks"
        [ $((b1 - b0)) -le 10 ] || fail "echod b used $((b1 - b0)) ticks"
        # b never got a datagram: a sent nothing.
        run grep -c 'datagrams' "$BATS_TEST_TMPDIR/b.notify"
        assert_output 0
        udp_stop a
        udp_stop b
}

@test "source ports 7, 19, 1023 and 2049 get no reply; port 40000 gets exactly one echo" {
        netns_new
        udp_echod e "$NETNS" udp=127.0.0.1:7
        local port
        for port in 7 19 1023 2049; do
                run in_ns "$PY" "$UDP_TOOL" send 127.0.0.2 "$port" 127.0.0.1 7 --wait 0.3
                assert_success
                assert_output "1 sent, 0 echoed"
        done
        run in_ns "$PY" "$UDP_TOOL" send 127.0.0.2 40000 127.0.0.1 7
        assert_success
        assert_output "1 sent, 1 echoed, from 127.0.0.1 port 7"
        status_wait e ', 1 datagrams, 4 dropped \(4 port, 0 address, 0 rate, 0 ceiling, 0 unsent\)$'
        # One notice line for all of it, not one per datagram.
        wait_for_line "$BATS_TEST_TMPDIR/e.out" '^UDP: [0-9]+ datagrams dropped without a reply'
        assert_equal "$(count_lines "$BATS_TEST_TMPDIR/e.out" '^UDP: ')" 1
        udp_stop e
}

@test "broadcast, multicast and 0.0.0.0/8 sources, and a broadcast destination, get no reply" {
        netns_new
        # An interface (a veth pair, both ends here) with a subnet, so that there is a directed
        # broadcast address (10.77.0.255).
        ip -n "$NETNS" link add d0 type veth peer name d1
        ip -n "$NETNS" addr add 10.77.0.1/24 brd + dev d0
        ip -n "$NETNS" link set d0 up
        ip -n "$NETNS" link set d1 up
        udp_echod e "$NETNS" udp=0.0.0.0:7
        local src
        # Local sources skip the kernel's martian checks (the route is the sender's): each
        # reaches echod, which alone must drop it.
        for src in 10.77.0.255 127.255.255.255 255.255.255.255 224.0.0.5 0.0.0.7; do
                run in_ns "$PY" "$UDP_TOOL" forge "$src" 40000 10.77.0.1 7
                assert_success
        done
        status_wait e ', 0 datagrams, 5 dropped \(0 port, 5 address, '
        # A datagram to the subnet's broadcast address: every host on it would answer.
        run in_ns "$PY" "$UDP_TOOL" send 10.77.0.1 40001 10.77.0.255 7 --broadcast --wait 0.3
        assert_success
        assert_output "1 sent, 0 echoed"
        status_wait e ', 0 datagrams, 6 dropped \(0 port, 6 address, '
        # The same interface's own address is a client like any other.
        run in_ns "$PY" "$UDP_TOOL" send 10.77.0.1 40002 10.77.0.1 7
        assert_success
        assert_output "1 sent, 1 echoed, from 10.77.0.1 port 7"
        status_wait e ', 1 datagrams, 6 dropped \(0 port, 6 address, 0 rate, 0 ceiling, 0 unsent\)$'
        udp_stop e
}

@test "a flood from one source is held to --udp-rate while another source gets every echo" {
        local port
        port=$(free_port --udp)
        udp_echod e "" "udp=127.0.0.1:$port" -- --udp-rate 20
        # 10 000 datagrams a second for 2 s: 500 times the rate, and well within what the
        # socket's buffer and echod keep up with, so that the kernel loses no probe.
        run "$PY" "$UDP_TOOL" flood 127.0.0.1 "$port" --flooder 127.0.0.2 --prober 127.0.0.4 \
                --seconds 2 --rate 10000 --probe-interval 0.1
        assert_success
        echo "$output"
        [[ "$output" =~ ^flood:\ ([0-9]+)\ sent,\ ([0-9]+)\ echoed\;\ probe:\ ([0-9]+)\ sent,\ ([0-9]+)\ echoed$ ]] ||
                fail "unexpected: $output"
        local fsent=${BASH_REMATCH[1]} fecho=${BASH_REMATCH[2]} psent=${BASH_REMATCH[3]} pecho=${BASH_REMATCH[4]}
        [ "$fsent" -ge 5000 ] || fail "the flood sent only $fsent"
        # A burst of 20, then 20 a second for the 2 s (and the 0.5 s of lingering).
        [ "$fecho" -ge 20 ] && [ "$fecho" -le 70 ] || fail "flood: $fecho echoes, want 20 to 70"
        assert_equal "$pecho" "$psent"
        # The drops were counted, and told once.
        status_wait e ' rate, 0 ceiling, 0 unsent\)$'
        wait_for_line "$BATS_TEST_TMPDIR/e.out" '^UDP: [0-9]+ datagrams dropped without a reply in the last [0-9]+ s \(0 port, 0 address, [0-9]+ rate'
        assert_equal "$(count_lines "$BATS_TEST_TMPDIR/e.out" '^UDP: ')" 1
        udp_stop e
}

@test "--udp-global-rate caps the echoes of many sources; the table stays bounded (RSS)" {
        local port
        port=$(free_port --udp)
        # ASan keeps freed blocks in quarantine, which would measure ASan.
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
        udp_echod e "" "udp=127.0.0.1:$port" -- --udp-global-rate 100
        # Enough sources to fill the table (4096 slots) and touch all of its memory.
        run "$PY" "$UDP_TOOL" random-sources 127.0.0.1 "$port" --count 20000 --seed 1
        assert_success
        status_wait e ' ceiling, 0 unsent\)$'
        local start=$SECONDS rss0 rss1
        rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID_e/status")
        # Ten times as many sources again: a table that grew would hold them all.
        run "$PY" "$UDP_TOOL" random-sources 127.0.0.1 "$port" --count 200000 --seed 2
        assert_success
        rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID_e/status")
        echo "RSS after 20 000 sources: $rss0 KiB; after 200 000 more: $rss1 KiB"
        [ $((rss1 - rss0)) -le 1024 ] || fail "RSS grew by $((rss1 - rss0)) KiB"
        # Every datagram has its own source, so only the ceiling holds them: 100 a second,
        # a burst of 100, over the whole run.
        sleep 1.1       # STATUS= is sent at most once a second: let the last figures out
        local line echoed
        line=$(grep 'STATUS=' "$BATS_TEST_TMPDIR/e.notify" | tail -1)
        [[ "$line" =~ ,\ ([0-9]+)\ datagrams,\ ([0-9]+)\ dropped\ \(0\ port,\ 0\ address,\ 0\ rate,\ ([0-9]+)\ ceiling ]] ||
                fail "unexpected: $line"
        echoed=${BASH_REMATCH[1]}
        local elapsed=$((SECONDS - start + 3))
        echo "$echoed echoed, ${BASH_REMATCH[3]} over the ceiling, in at most $elapsed s"
        [ "$echoed" -le $((100 + 100 * elapsed)) ] || fail "$echoed echoes in $elapsed s"
        [ "${BASH_REMATCH[3]}" -ge $((10 * echoed)) ] || fail "too few over the ceiling"
        udp_stop e
}

@test "replies come from the address the client sent to (0.0.0.0 socket, connected clients)" {
        local port
        port=$(free_port --udp)
        udp_echod e "" "udp=0.0.0.0:$port"
        local dst
        for dst in 127.0.0.5 127.0.0.1 127.1.2.3; do
                run "$PY" "$UDP_TOOL" send 127.0.0.1 0 "$dst" "$port" --connect --count 3
                assert_success
                assert_output "3 sent, 3 echoed, from $dst port $port"
        done
        udp_stop e
}

@test "IPv6: replies come from the address sent to, on a [::] socket, for v6 and v4 clients" {
        netns_new
        ip -n "$NETNS" link add d0 type veth peer name d1
        ip -n "$NETNS" addr add 2001:db8:77::1/64 dev d0 nodad
        ip -n "$NETNS" link set d0 up
        ip -n "$NETNS" link set d1 up
        udp_echod e "$NETNS" "udp=[::]:7"
        run in_ns "$PY" "$UDP_TOOL" send ::1 0 2001:db8:77::1 7 --connect --count 2
        assert_success
        assert_output "2 sent, 2 echoed, from 2001:db8:77::1 port 7"
        run in_ns "$PY" "$UDP_TOOL" send ::1 0 ::1 7 --connect
        assert_success
        assert_output "1 sent, 1 echoed, from ::1 port 7"
        # An IPv4 client of the dual-stack socket: the v4-mapped destination answers.
        run in_ns "$PY" "$UDP_TOOL" send 127.0.0.1 0 127.0.0.5 7 --connect
        assert_success
        assert_output "1 sent, 1 echoed, from 127.0.0.5 port 7"
        # Without an IPv4 socket the broadcast addresses still come from the namespace: lo's
        # 127.255.255.255, v4-mapped on this socket.
        run in_ns "$PY" "$UDP_TOOL" forge 127.255.255.255 40000 127.0.0.1 7
        assert_success
        status_wait e ', 4 datagrams, 1 dropped \(0 port, 1 address, 0 rate, 0 ceiling, 0 unsent\)$'
        udp_stop e
}

@test "UDP is served while TCP accepting is paused at --max-connections" {
        local tport uport
        tport=$(free_port)
        uport=$(free_port --udp)
        udp_echod e "" "tcp-listen=127.0.0.1:$tport" "udp=127.0.0.1:$uport" -- --max-connections 1
        # One client holds the only slot (it waits for stdin, which never comes).
        sleep 30 | socat -t 30 - "TCP:127.0.0.1:$tport" >/dev/null 2>&1 &
        track_pid $!
        wait_for_line "$BATS_TEST_TMPDIR/e.notify" '^STATUS=1 connections'
        # A second client is not served: accepting is paused...
        run timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x"); s.settimeout(0.5)
try:
    print("echoed" if s.recv(1) else "closed")
except socket.timeout:
    print("not served")' "$tport"
        assert_output "not served"
        # ...and UDP is not.
        run "$PY" "$UDP_TOOL" send 127.0.0.1 0 127.0.0.1 "$uport" --count 3
        assert_success
        assert_output "3 sent, 3 echoed, from 127.0.0.1 port $uport"
        udp_stop e
}

@test "UDP is served during the drain, while SIGTERM waits for an open TCP connection" {
        local tport uport conn reply status=0
        tport=$(free_port)
        uport=$(free_port --udp)
        udp_echod e "" "tcp-listen=127.0.0.1:$tport" "udp=127.0.0.1:$uport" -- --drain-timeout 20
        exec {conn}<>"/dev/tcp/127.0.0.1/$tport"
        printf 'held\n' >&"$conn"
        read -r -t 5 reply <&"$conn" || fail "no TCP echo"
        assert_equal "$reply" held
        kill -TERM "$PID_e"
        wait_for_line "$BATS_TEST_TMPDIR/e.notify" '^STOPPING=1'
        run "$PY" "$UDP_TOOL" send 127.0.0.1 0 127.0.0.1 "$uport" --count 3
        assert_success
        assert_output "3 sent, 3 echoed, from 127.0.0.1 port $uport"
        exec {conn}>&-
        wait_gone "$PID_e" 10 || fail "echod still draining after its last client left"
        wait "$PID_e" || status=$?
        assert_equal "$status" 0
        assert_no_sanitizer_report "$BATS_TEST_TMPDIR/e.err"
}

# refused EXPECTED-LINE-REGEX : asserts status 5 (EXIT_ACTIVATION) and exactly one line, on stderr.
refused() {
        assert_equal "$status" 5
        assert_equal "${#lines[@]}" 1
        assert_output --regexp "$1"
}

@test "a UDP-Lite socket is refused with one line naming fd 3, exit 5" {
        run "$PY" "$PASS_FDS" udplite -- "$ECHOD"
        refused '^echod: inherited fd 3 is a datagram socket of UDP-Lite, not UDP: echod serves UDP only$'
}

@test "an unbound UDP socket is refused with one line naming fd 3, exit 5" {
        run "$PY" "$PASS_FDS" udp-unbound -- "$ECHOD"
        refused '^echod: inherited fd 3 is a UDP socket bound to no port: no client can reach it$'
}

@test "a connected UDP socket is refused with one line naming fd 3 and its peer, exit 5" {
        run "$PY" "$PASS_FDS" tcp-listen udp-connected -- "$ECHOD"
        refused '^echod: inherited fd 4 is a UDP socket connected to 127.0.0.1 port 9: echod needs an unconnected one that any client can reach$'
}

@test "an ICMP ping socket is refused with one line naming fd 3, exit 5" {
        netns_new
        # Ping sockets need the caller's group in ping_group_range; the namespace has its own.
        in_ns sysctl -q -w net.ipv4.ping_group_range="0 0"
        in_ns "$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)' ||
                skip "the kernel does not let this test make a ping socket"
        run in_ns "$PY" "$PASS_FDS" ping -- "$ECHOD"
        refused '^echod: inherited fd 3 is a datagram socket of ICMP \(a ping socket\), not UDP: echod serves UDP only$'
}
