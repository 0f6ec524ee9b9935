#!/usr/bin/env bats
# echo-bench against a real echod, every mode at tiny sizes: the output is sane and every byte
# came back; echod's splice path and its fallback; bench/plot.py's figures. No timing
# assertions: speed targets live in bench/run, not in tests. About 5 s.

load '../helpers/common'
bats_require_minimum_version 1.5.0

ECHO_BENCH=$BUILD/src/bench/echo-bench

setup() {
        PORT=$(free_port)
        echod_start "127.0.0.1:$PORT"
}

teardown() {
        teardown_tracked
}

# bench MODE ARGS...: runs echo-bench --json against echod; $output is one JSON object.
bench() {
        local mode=$1; shift
        run --separate-stderr "$ECHO_BENCH" --json -q -t 20 "$mode" "$@" 127.0.0.1 "$PORT"
}

# json_get KEY: the value of KEY in $output.
json_get() {
        "$PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$output" "$1"
}

assert_all_ok() {       # $1 = how many
        assert_success
        [ "$(json_get ok)" = "$1" ]
        [ "$(json_get failed)" = 0 ]
        [ "$(json_get differed)" = 0 ]
}

@test "stream over 1 and 3 connections: every byte back, a positive rate" {
        bench stream -c 1 -b 1000000
        assert_all_ok 1
        [ "$(json_get bytes_per_connection)" = 1000000 ]
        "$PY" -c 'import sys; assert float(sys.argv[1]) > 0' "$(json_get mb_per_s)"

        bench stream -c 3 -b 300001 -s 4097
        assert_all_ok 3
        echod_stop
}

@test "pingpong: round trips counted, p50 <= p99 <= p99.9" {
        bench pingpong -n 300
        assert_all_ok 300
        [ "$(json_get round_trips)" = 300 ]
        "$PY" -c 'import sys; a, b, c = map(float, sys.argv[1:]); assert 0 < a <= b <= c, (a, b, c)' \
                "$(json_get p50_us)" "$(json_get p99_us)" "$(json_get p999_us)"
}

@test "concurrent: 200 clients at once, half-close, all intact; two client processes add up" {
        bench concurrent -c 200 -b 10000 -s 999
        assert_all_ok 200
        "$PY" -c 'import sys; assert float(sys.argv[1]) > 0' "$(json_get wall_s)"

        bench concurrent -c 101 -b 5000 -P 2
        assert_all_ok 101
}

@test "connrate: every connection echoes and closes" {
        bench connrate -n 300 -c 16
        assert_all_ok 300
        "$PY" -c 'import sys; assert float(sys.argv[1]) > 0' "$(json_get connections_per_s)"
}

@test "idle: connections held, echod's RSS read, per-connection memory reported" {
        bench idle -c 300 -P 2 --hold 0 --server-pid "$ECHOD_PID"
        assert_all_ok 300
        [ "$(json_get held)" = 300 ]
        "$PY" -c 'import sys; assert int(sys.argv[1]) > 0' "$(json_get server_rss_kib)"
        json_get bytes_per_connection
}

@test "the human table names the mode and the figures" {
        run --separate-stderr "$ECHO_BENCH" -q connrate -n 10 127.0.0.1 "$PORT"
        assert_success
        assert_line --regexp '^mode +connrate$'
        assert_line --regexp '^connections/s +[0-9]+$'
        assert_line --regexp '^failed +0$'
}

@test "a refused connection: one error line, exit status 3" {
        local closed
        closed=$(free_port)
        run --separate-stderr "$ECHO_BENCH" -q pingpong 127.0.0.1 "$closed"
        assert_failure 3
        [ "$stderr" = "echo-bench: cannot connect to 127.0.0.1 port $closed: Connection refused" ]
}

@test "a server that drops every byte is a failure, exit status 1" {
        # echod must not be what answers here: a listener that reads and never writes back.
        local port pid
        port=$(free_port)
        "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); print("ready", flush=True)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.close()
' "$port" >"$BATS_TEST_TMPDIR/sink.out" &
        pid=$!
        track_pid "$pid"
        wait_for_line "$BATS_TEST_TMPDIR/sink.out" '^ready$'
        run --separate-stderr "$ECHO_BENCH" --json -q -t 5 concurrent -c 3 -b 1000 127.0.0.1 "$port"
        assert_failure 1
        [ "$(json_get ok)" = 0 ]
        [ "$(json_get failed)" = 3 ]
}

@test "usage errors: one line, exit status 2" {
        run --separate-stderr "$ECHO_BENCH" warp 127.0.0.1 1
        assert_failure 2
        [ "$stderr" = "echo-bench: unknown mode 'warp' (stream, pingpong, concurrent, connrate or idle)" ]
        run --separate-stderr "$ECHO_BENCH" -c 0 stream 127.0.0.1 1
        assert_failure 2
        [[ "$stderr" == "echo-bench: invalid value for --connections: '0'"* ]]
        run "$ECHO_BENCH" --help
        assert_success
        assert_line --partial 'Exit status:'
}

@test "usage errors: the same lines as echod and echo-client, control characters escaped" {
        run --separate-stderr "$ECHO_BENCH" -c $'1\n2' stream 127.0.0.1 1
        assert_failure 2
        [ "$stderr" = "echo-bench: invalid value for --connections: '1\\x0a2' (expected a whole number from 1 to 10000000)" ]
        run --separate-stderr "$ECHO_BENCH" $'warp\e[31m' 127.0.0.1 1
        assert_failure 2
        [ "$stderr" = "echo-bench: unknown mode 'warp\\x1b[31m' (stream, pingpong, concurrent, connrate or idle)" ]
        run --separate-stderr "$ECHO_BENCH" --json=1 stream 127.0.0.1 1
        assert_failure 2
        [ "$stderr" = "echo-bench: option '--json' takes no value" ]
        run --separate-stderr "$ECHO_BENCH" --co 5 stream 127.0.0.1 1
        assert_failure 2
        [ "$stderr" = "echo-bench: ambiguous option '--co' (see echo-bench --help)" ]
        run --separate-stderr "$ECHO_BENCH" --frobnicate stream 127.0.0.1 1
        assert_failure 2
        [ "$stderr" = "echo-bench: unknown option '--frobnicate' (see echo-bench --help)" ]
        run --separate-stderr "$ECHO_BENCH" -c
        assert_failure 2
        [ "$stderr" = "echo-bench: option '-c' needs a value" ]
}

@test "stream through echod's splice path, and its fallback to the ring when the pool is empty" {
        echod_stop
        # One pipe for three streams: one splices, two keep the ring.
        ECHOD_SPLICE=on ECHOD_SPLICE_PIPES=1 echod_start "127.0.0.1:$PORT"
        base=$(find -L "/proc/$ECHOD_PID/fd" -maxdepth 1 -type p | wc -l)
        bench stream -c 3 -b 4000000
        assert_all_ok 3
        # The pool's one pipe (two fds) was made, and no other.
        [ "$(find -L "/proc/$ECHOD_PID/fd" -maxdepth 1 -type p | wc -l)" -eq $((base + 2)) ]
        bench pingpong -n 200
        assert_all_ok 200
        echod_stop
}

@test "bench/plot.py draws the three figures as well-formed SVG from measured results" {
        local sum=$BATS_TEST_TMPDIR/summary.json img=$BATS_TEST_TMPDIR/img
        bench pingpong -n 300
        assert_all_ok 300
        echo "$output" >"$BATS_TEST_TMPDIR/pp.json"
        bench idle -c 50 --hold 0 --server-pid "$ECHOD_PID"
        echo "$output" >"$BATS_TEST_TMPDIR/idle.json"
        "$PY" -c '
import json, sys
pp, idle = (json.load(open(f)) for f in sys.argv[1:3])
json.dump({"refs": {"stream1": "blocking", "pingpong": "epoll"},
           "names": {"stream1": "stream 1", "pingpong": "pingpong"},
           "ratios": {"stream1": {"echod": {"median": 0.55, "range": [0.5, 0.62]}},
                      "pingpong": {"echod": {"median": 0.97, "range": [0.9, 1.05]}}},
           "targets": [{"mode": "stream1", "ref": "blocking", "limit": 0.6}],
           "cdf": {"echod": pp["latency_cdf"]},
           "idle": {"echod": [[0, idle["server_rss_before_kib"]], [idle["held"], idle["server_rss_kib"]]]}},
          open(sys.argv[3], "w"))' "$BATS_TEST_TMPDIR/pp.json" "$BATS_TEST_TMPDIR/idle.json" "$sum"
        mkdir "$img"
        run "$PY" "$ROOT/bench/plot.py" "$sum" "$img"
        assert_success
        for f in cpu-ratios pingpong-cdf idle-memory; do
                "$PY" -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"' "$img/$f.svg"
        done
        # A bar per ratio, a line per CDF and memory curve.
        [ "$(grep -c '<rect .*fill="#1f77b4"' "$img/cpu-ratios.svg")" -ge 3 ]  # two bars, one legend
        grep -q '<polyline' "$img/pingpong-cdf.svg"
        grep -q '<polyline' "$img/idle-memory.svg"
}
