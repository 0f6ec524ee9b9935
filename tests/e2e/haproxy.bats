#!/usr/bin/env bats
# A real HAProxy (Debian's package) in TCP mode in front of three echods --proxy-protocol on
# their own loopback addresses, 127.0.0.11-13: send-proxy-v2 on every server, health checks
# that send a PROXY header (check-send-proxy, LOCAL) and expect their bytes back (tcp-check
# send/expect), redispatch on a refused connection. This is the configuration
# docs/deployment.md shows. HAProxy runs in the foreground (-db) on the test's own file, with
# its stats socket and pid file in the test's directory; readiness is the stats socket saying
# UP for all three. About 15 s per build.

load '../helpers/common'

setup() {
        HAPROXY=/usr/sbin/haproxy
        [ -x "$HAPROXY" ] || skip "haproxy is not installed (tools/dev installs it)"
        FRONT=$(free_port)
        BACKEND_PORTS=()
        BACKEND_PIDS=()
        for i in 1 2 3; do
                BACKEND_PORTS[i]=$(free_port)
        done
        HAPROXY_SOCK=$BATS_TEST_TMPDIR/haproxy.sock
}

teardown() {
        teardown_tracked
}

# backend_start I [ECHOD ARGS...]: echod --proxy-protocol -v on 127.0.0.1I, stdout in
# $BATS_TEST_TMPDIR/echodI.out; waits (bounded) for its start-up line.
backend_start() {
        local i=$1 out=$BATS_TEST_TMPDIR/echod$1.out
        shift
        "$ECHOD" --proxy-protocol -v "$@" "127.0.0.1$i:${BACKEND_PORTS[i]}" \
                >"$out" 2>"$BATS_TEST_TMPDIR/echod$i.err" 3>&- &
        BACKEND_PIDS[i]=$!
        track_pid "$!"
        wait_for_line "$out" '^starting up on ' 10
}

# The configuration docs/deployment.md shows, on this test's addresses and ports.
haproxy_config() {
        cat <<EOF
global
    stats socket $HAPROXY_SOCK mode 600 level admin
    pidfile $BATS_TEST_TMPDIR/haproxy.pid
    maxconn 4000

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    retries 3
    option redispatch 1

frontend echo
    bind 127.0.0.1:$FRONT
    default_backend echods

backend echods
    balance roundrobin
    option tcp-check
    tcp-check send "echod health check\r\n"
    tcp-check expect string "echod health check"
    default-server send-proxy-v2 check check-send-proxy inter 1s fall 3 rise 1
    server echod1 127.0.0.11:${BACKEND_PORTS[1]}
    server echod2 127.0.0.12:${BACKEND_PORTS[2]}
    server echod3 127.0.0.13:${BACKEND_PORTS[3]}
EOF
}

# haproxy_stat SERVER FIELD: one field of `show stat` for a server of backend echods.
haproxy_stat() {
        echo "show stat" | socat -t 2 - "UNIX-CONNECT:$HAPROXY_SOCK" | awk -F, -v sv="$1" -v f="$2" '
                NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                $1 == "echods" && $2 == sv { print $col[f] }'
}

# Waits up to $2 seconds (default 10) until SERVER $1's status is $3 (default UP).
wait_status() {
        local deadline=$((SECONDS + ${2:-10} + 1))
        until [ "$(haproxy_stat "$1" status 2>/dev/null)" = "${3:-UP}" ]; do
                if [ "$SECONDS" -ge "$deadline" ]; then
                        echo "$1 not ${3:-UP} after ${2:-10} s: $(haproxy_stat "$1" status 2>&1)" >&2
                        cat "$BATS_TEST_TMPDIR/haproxy.log" >&2
                        return 1
                fi
                sleep 0.05
        done
}

haproxy_start() {
        haproxy_config >"$BATS_TEST_TMPDIR/haproxy.cfg"
        "$HAPROXY" -c -q -f "$BATS_TEST_TMPDIR/haproxy.cfg"
        "$HAPROXY" -db -f "$BATS_TEST_TMPDIR/haproxy.cfg" >"$BATS_TEST_TMPDIR/haproxy.log" 2>&1 3>&- &
        HAPROXY_PID=$!
        track_pid "$HAPROXY_PID"
        local i
        for i in 1 2 3; do
                wait_status "echod$i" 10 || return 1
        done
}

start_all() {
        local i
        for i in 1 2 3; do
                backend_start "$i" "$@"
        done
        haproxy_start
}

@test "haproxy: 300 concurrent clients intact; each backend logs the real client, health checks as LOCAL" {
        start_all
        local sources=127.0.0.21,127.0.0.22,127.0.0.23,127.0.0.24,127.0.0.25
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$FRONT" --clients 300 --max-bytes 65536 --sources "$sources"
        assert_success
        assert_line --regexp '^300 of 300 clients intact'

        # Every connection a client made is logged by one backend with the client's own source
        # address, the balancer (127.0.0.1) as the "via"; each backend took its share.
        local total=0 n i
        for i in 1 2 3; do
                wait_for_line "$BATS_TEST_TMPDIR/echod$i.out" '^closed connection from' 5
                n=$(count_lines "$BATS_TEST_TMPDIR/echod$i.out" \
                        "^connection from \('127\.0\.0\.2[1-5]', [0-9]+\) via \('127\.0\.0\.1', [0-9]+\)$")
                [ "$n" -ge 50 ] || { echo "echod$i served only $n clients" >&2; return 1; }
                total=$((total + n))
                # Nothing but the balancer's health checks appears as from the balancer.
                run grep -E "^connection from \('127\.0\.0\.1', " "$BATS_TEST_TMPDIR/echod$i.out"
                refute_line --regexp "^connection from \('127\.0\.0\.1', [0-9]+\) via"
                assert_line --regexp "^connection from \('127\.0\.0\.1', [0-9]+\) \(the balancer's own, PROXY LOCAL\)$"
                for src in 21 22 23 24 25; do
                        grep -q "^connection from ('127.0.0.$src', " "$BATS_TEST_TMPDIR/echod$i.out" ||
                                { echo "echod$i never saw 127.0.0.$src" >&2; return 1; }
                done
        done
        assert_equal "$total" 300

        # One client, its exact address and port, as the backend that served it logs it.
        run "$PY" "$HELPERS/proxy_client.py" 127.0.0.1 "$FRONT" --header none --source 127.0.0.29 --print-port
        assert_success
        assert_line --regexp '^1000 bytes back of 1000 sent: intact$'
        local port=${lines[0]#port }
        run bash -c "grep -h \"^closed connection from ('127.0.0.29', $port): 1000 bytes echoed\$\" '$BATS_TEST_TMPDIR'/echod?.out"
        assert_success
        assert_equal "${#lines[@]}" 1
        for i in 1 2 3; do
                assert_no_sanitizer_report "$BATS_TEST_TMPDIR/echod$i.err"
        done
}

@test "haproxy: a backend stopped with SIGTERM mid-run costs no client (echod drains, HAProxy redispatches)" {
        start_all
        # 300 clients, all connected through HAProxy before sending, then sending slowly.
        "$PY" "$HELPERS/stress.py" run 127.0.0.1 "$FRONT" --clients 300 --max-bytes 131072 \
                --max-piece 4096 --max-delay 0.02 --progress-at 0.3 --timeout 60 --source 127.0.0.31 \
                >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- &
        local run_pid=$!
        track_pid "$run_pid"
        wait_for_line "$BATS_TEST_TMPDIR/run.out" '^progress: ' 30
        local status=0 out1=$BATS_TEST_TMPDIR/echod1.out drained
        kill -TERM "${BACKEND_PIDS[1]}"
        # New clients while HAProxy still counts echod1 as UP: its connections are refused and
        # sent to another backend.
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$FRONT" --clients 150 --max-bytes 16384
        assert_success
        assert_line --regexp '^150 of 150 clients intact'
        wait "$run_pid" || status=$?
        run cat "$BATS_TEST_TMPDIR/run.out"
        assert_equal "$status" 0
        assert_line --regexp '^300 of 300 clients intact'

        # echod1 was in the middle of its share, drained it and exited 0.
        wait_gone "${BACKEND_PIDS[1]}" 15
        wait "${BACKEND_PIDS[1]}" || status=$?
        assert_equal "$status" 0
        # Every client it took was closed after its echo, those still open at SIGTERM during the
        # drain; none was cut by the drain timeout.
        drained=$(sed -n '/^SIGTERM received, draining$/,$p' "$out1" | grep -c "^closed connection from ('127\.0\.0\.31', ")
        echo "# echod1 drained $drained of the 300 after SIGTERM" >&3
        [ "$drained" -gt 0 ]
        assert_equal "$(count_lines "$out1" "^closed connection from \('127\.0\.0\.31', ")" \
                "$(count_lines "$out1" "^connection from \('127\.0\.0\.31', ")"
        run grep -h 'drain timeout' "$out1" "$BATS_TEST_TMPDIR/echod1.err"
        assert_failure
        # HAProxy retried the refused connections elsewhere, and saw echod1 go down.
        local retries redispatches
        retries=$(haproxy_stat echod1 wretr)
        redispatches=$(haproxy_stat echod1 wredis)
        echo "# HAProxy: $retries retries, $redispatches redispatches on echod1" >&3
        [ $((retries + redispatches)) -gt 0 ]
        wait_status echod1 10 DOWN
        assert_no_sanitizer_report "$BATS_TEST_TMPDIR/echod1.err"
}

@test "haproxy: a client that skips the balancer and sends no header gets nothing back" {
        start_all
        local port=${BACKEND_PORTS[2]}
        run "$PY" "$HELPERS/proxy_client.py" 127.0.0.12 "$port" --header none --expect-nothing
        assert_success
        assert_output --regexp '^nothing back \((closed|reset)\) after '
        run "$PY" "$HELPERS/proxy_client.py" 127.0.0.12 "$port" --silent --expect-nothing --timeout 10
        assert_success
        assert_output --regexp '^nothing back \((closed|reset)\) after [2-9]\.[0-9] s$'
        wait_for_line "$BATS_TEST_TMPDIR/echod2.out" \
                "^closed 1 connection without a valid PROXY header, the latest from \('127\.0\.0\.1', [0-9]+\): not a PROXY protocol header "
        assert_equal "$(count_lines "$BATS_TEST_TMPDIR/echod2.out" 'without a valid PROXY header')" 1
        # Through the balancer the same backend serves at once.
        run "$ECHO_CLIENT" -q -m 'via the balancer' 127.0.0.1 "$FRONT"
        assert_success
        wait_status echod2
}

@test "haproxy: --max-per-source counts the client HAProxy names, not HAProxy: one source at its limit, another served" {
        start_all --max-per-source 1
        local go=$BATS_TEST_TMPDIR/go i n total
        # Three held connections from 127.0.0.41: round robin puts one on each backend.
        "$PY" "$HELPERS/stress.py" hold 127.0.0.1 "$FRONT" --clients 3 --source 127.0.0.41 \
                --go-file "$go" --timeout 30 >"$BATS_TEST_TMPDIR/hold.out" 2>&1 3>&- &
        local hold=$! status=0
        track_pid "$hold"
        local deadline=$((SECONDS + 11))
        until total=0 && for i in 1 2 3; do
                        n=$(count_lines "$BATS_TEST_TMPDIR/echod$i.out" "^connection from \('127\.0\.0\.41', ")
                        total=$((total + n))
                done && [ "$total" -ge 3 ]; do
                [ "$SECONDS" -lt "$deadline" ] || { echo "only $total of 3 held connections reached a backend" >&2; return 1; }
                sleep 0.05
        done
        for i in 1 2 3; do
                assert_equal "$(count_lines "$BATS_TEST_TMPDIR/echod$i.out" "^connection from \('127\.0\.0\.41', ")" 1
        done
        # A fourth from 127.0.0.41: whichever backend it reaches holds one already.
        run "$PY" "$HELPERS/proxy_client.py" 127.0.0.1 "$FRONT" --header none --source 127.0.0.41 --expect-nothing
        assert_success
        assert_output --regexp '^nothing back '
        # Another source is served at once, through the same balancer address.
        run "$PY" "$HELPERS/proxy_client.py" 127.0.0.1 "$FRONT" --header none --source 127.0.0.42
        assert_success
        assert_output "1000 bytes back of 1000 sent: intact"
        run bash -c "cat '$BATS_TEST_TMPDIR'/echod?.out"
        assert_line --regexp '^closing connections from 127\.0\.0\.41 beyond --max-per-source 1 '
        refute_line --regexp '^closing connections from 127\.0\.0\.(1|42) '
        # The held ones are still served: their echo comes back once they half-close.
        touch "$go"
        wait "$hold" || status=$?
        run cat "$BATS_TEST_TMPDIR/hold.out"
        assert_line '3 of 3 clients intact'
        assert_equal "$status" 0
}
