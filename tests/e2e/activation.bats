#!/usr/bin/env bats
# Socket activation, emulated: systemd-socket-activate (Accept=no, Accept=yes, --inetd, UDP),
# hand-overs that are wrong in every way echod must refuse, and the journal's <N> prefixes.
# About 10 s per build.

load '../helpers/common'

setup() {
        PORT=$(free_port)
        SA_LOG=$BATS_TEST_TMPDIR/activate.log
}

teardown() {
        teardown_tracked
}

# sa_start ARGS... : runs systemd-socket-activate ARGS in the background (its lines and echod's
# in $SA_LOG), waits until it listens on every -l address, sets SA_PID (echod's pid once it
# execs: systemd-socket-activate execs the server without -a).
sa_start() {
        local n=0 a
        for a in "$@"; do [ "$a" = -l ] && n=$((n + 1)); done
        systemd-socket-activate "$@" >"$SA_LOG" 2>&1 3>&- &
        SA_PID=$!
        track_pid "$SA_PID"
        wait_for_line "$SA_LOG" '^Listening on ' 5 "$n"
}

# One client, raw: sends FILE $1, half-closes, writes everything that comes back to $2.
raw_exchange() {
        timeout 10 socat -t 5 - "TCP:127.0.0.1:$PORT" <"$1" >"$2"
}

@test "Accept=no: one echod serves two named sockets (IPv4, IPv6) under 200 concurrent clients" {
        sa_start -l "127.0.0.1:$PORT" -l "[::1]:$PORT" --fdname=v4:v6 "$ECHOD"
        "$PY" "$HELPERS/concurrent_clients.py" --host 127.0.0.1 --port "$PORT" --clients 100 \
                --max-bytes 65536 --timeout 60 >"$BATS_TEST_TMPDIR/v4" 2>&1 &
        local v4=$!
        track_pid "$v4"
        run "$PY" "$HELPERS/concurrent_clients.py" --host ::1 --port "$PORT" --clients 100 \
                --max-bytes 65536 --seed 7 --timeout 60
        assert_success
        assert_line --regexp '^100 of 100 clients intact'
        wait "$v4" || fail "IPv4 clients: $(cat "$BATS_TEST_TMPDIR/v4")"
        assert_equal "$(grep -c 'clients intact' "$BATS_TEST_TMPDIR/v4")" 1

        # One process, still running, which announced both sockets by name.
        assert_equal "$(grep -c '^Execing ' "$SA_LOG")" 1
        assert_equal "$(cat "/proc/$SA_PID/comm")" echod
        run grep '^starting up on ' "$SA_LOG"
        assert_output "$(printf 'starting up on 127.0.0.1 port %s (fd 3, v4)\nstarting up on ::1 port %s (fd 4, v6)' "$PORT" "$PORT")"
        ECHOD_PID=$SA_PID ECHOD_ERR=$SA_LOG echod_stop
}

@test "Accept=no: --workers 2 on blocking passed sockets falls back to one worker and serves" {
        sa_start -l "127.0.0.1:$PORT" "$ECHOD" --workers 2
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$PORT" --clients 50 --max-bytes 16384
        assert_success
        assert_line --regexp '^50 of 50 clients intact'
        assert_equal "$(grep -c 'blocking mode: one worker instead of 2' "$SA_LOG")" 1
        ECHOD_PID=$SA_PID ECHOD_ERR=$SA_LOG echod_stop
}

@test "Accept=no: --exit-idle 1 exits 0 once the last client is gone" {
        sa_start -l "127.0.0.1:$PORT" "$ECHOD" --exit-idle 1
        run "$ECHO_CLIENT" -q -m 'idle soon' 127.0.0.1 "$PORT"
        assert_success
        wait_gone "$SA_PID" 5 || fail "echod still running 5 s after its only client left"
        local status=0
        wait "$SA_PID" || status=$?
        assert_equal "$status" 0
        assert_equal "$(grep -c 'no client for 1 s, exiting' "$SA_LOG")" 1
}

@test "Accept=yes: each connection gets its own echod, which exits 0 after the echo" {
        sa_start -a -l "127.0.0.1:$PORT" "$ECHOD" -v
        run "$ECHO_CLIENT" -q -m first 127.0.0.1 "$PORT"
        assert_success
        run "$ECHO_CLIENT" -q -m second 127.0.0.1 "$PORT"
        assert_success
        wait_for_line "$SA_LOG" '^Child [0-9]+ died with code 0$' 5 2
        assert_equal "$(grep -c '^Child ' "$SA_LOG")" 2
        # Each child served exactly its one client and announced no listening socket.
        assert_equal "$(grep -c '^closed connection from .*: 5 bytes echoed' "$SA_LOG")" 1
        assert_equal "$(grep -c '^closed connection from .*: 6 bytes echoed' "$SA_LOG")" 1
        run grep -c '^starting up on' "$SA_LOG"
        assert_output 0
}

@test "--inetd nowait: the client gets its bytes back and not one byte more" {
        head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        # -v: echod logs the connection, which must go to syslog, not to fds 1 and 2 (the socket).
        sa_start --inetd -a -l "127.0.0.1:$PORT" "$ECHOD" --inetd -v
        raw_exchange "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
        cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
        wait_for_line "$SA_LOG" '^Child [0-9]+ died with code 0$'
}

@test "--inetd: even an option error goes to syslog, never to the client's socket" {
        printf 'hello\n' >"$BATS_TEST_TMPDIR/in"
        # inetd puts the socket on fd 2 as well; systemd-socket-activate --inetd leaves it alone.
        sa_start --inetd -a -l "127.0.0.1:$PORT" bash -c 'exec 2>&1; exec "$@"' - "$ECHOD" --inetd --no-such-option
        raw_exchange "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out" || true
        wait_for_line "$SA_LOG" '^Child [0-9]+ died with code 2$'
        assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/out")" 0
}

@test "--inetd abbreviated as getopt_long takes it (--in): an option error still stays off the socket" {
        printf 'hello\n' >"$BATS_TEST_TMPDIR/in"
        sa_start --inetd -a -l "127.0.0.1:$PORT" bash -c 'exec 2>&1; exec "$@"' - "$ECHOD" --in --workers=x
        raw_exchange "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out" || true
        wait_for_line "$SA_LOG" '^Child [0-9]+ died with code 2$'
        assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/out")" 0
}

@test "--inetd wait: the listening socket on fd 0 serves several clients from one echod" {
        sa_start --inetd -l "127.0.0.1:$PORT" "$ECHOD" --inetd
        run "$PY" "$HELPERS/concurrent_clients.py" --port "$PORT" --clients 20 --max-bytes 65536
        assert_success
        assert_line --regexp '^20 of 20 clients intact'
        head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        raw_exchange "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
        cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
        assert_equal "$(grep -c '^Execing ' "$SA_LOG")" 1
        assert_equal "$(cat "/proc/$SA_PID/comm")" echod
        ECHOD_PID=$SA_PID ECHOD_ERR=$SA_LOG echod_stop
}

@test "ListenDatagram: a passed UDP socket echoes each datagram to its sender (RFC 862)" {
        PORT=$(free_port --udp)
        sa_start --datagram -l "127.0.0.1:$PORT" "$ECHOD"
        run "$PY" "$HELPERS/udp_echo_check.py" 127.0.0.1 "$PORT" --count 6
        assert_success
        assert_output "6 datagrams echoed"
        assert_equal "$(grep -c "^starting up on 127.0.0.1 port $PORT (fd 3, UDP)$" "$SA_LOG")" 1
        ECHOD_PID=$SA_PID ECHOD_ERR=$SA_LOG echod_stop
}

@test "ListenDatagram with --exit-idle 2: datagrams keep echod alive, silence ends it with 0" {
        PORT=$(free_port --udp)
        sa_start --datagram -l "127.0.0.1:$PORT" "$ECHOD" --exit-idle 2
        local i
        for i in 1 2 3 4 5 6 7 8; do
                run "$PY" "$HELPERS/udp_echo_check.py" 127.0.0.1 "$PORT" --count 2
                assert_success
                sleep 0.5       # pacing: 4 s of traffic, no gap near the 2 s of --exit-idle
        done
        pid_gone "$SA_PID" && fail "echod exited while datagrams were coming: $(cat "$SA_LOG")"
        wait_gone "$SA_PID" 5 || fail "echod still running 5 s after the last datagram"
        local status=0
        wait "$SA_PID" || status=$?
        assert_equal "$status" 0
}

@test "a passed AF_UNIX stream socket is served, its path announced" {
        local sock=$BATS_TEST_TMPDIR/echo.sock
        sa_start -l "$sock" "$ECHOD"
        head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
        timeout 10 socat -t 5 - "UNIX-CONNECT:$sock" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
        cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
        assert_equal "$(grep -c "^starting up on '$sock' (fd 3)$" "$SA_LOG")" 1
        ECHOD_PID=$SA_PID ECHOD_ERR=$SA_LOG echod_stop
}

# refused EXPECTED-LINE-REGEX : asserts status 5 (EXIT_ACTIVATION) and exactly one line, on stderr.
refused() {
        assert_equal "$status" 5
        assert_equal "${#lines[@]}" 1
        assert_output --regexp "$1"
}

@test "a regular file passed as fd 3 is refused with one line naming fd 3" {
        echo data >"$BATS_TEST_TMPDIR/file"
        run "$PY" "$HELPERS/pass_fds.py" --fds 1 -- "$ECHOD" 3<"$BATS_TEST_TMPDIR/file"
        refused '^echod: inherited fd 3 is a regular file, not a socket$'
}

@test "a pipe passed as fd 3 is refused with one line naming fd 3" {
        run bash -c ': | "$0" "$1" --fds 1 -- "$2" 3<&0' "$PY" "$HELPERS/pass_fds.py" "$ECHOD"
        refused '^echod: inherited fd 3 is a pipe, not a socket$'
}

@test "LISTEN_FDS=2 with only fd 3 open: refused with one line naming fd 4" {
        run "$PY" "$HELPERS/pass_fds.py" --listen 1 --fds 2 -- "$ECHOD" 4<&-
        refused '^echod: inherited fd 4 is not open, but LISTEN_FDS=2 says it was passed$'
}

@test "a socket echod cannot serve (AF_UNIX datagram) is refused with one line naming it" {
        run "$PY" -c '
import os, socket, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
os.dup2(a.fileno(), 3)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", LISTEN_FDNAMES="odd")
os.execv(sys.argv[1], sys.argv[1:])' "$ECHOD"
        refused '^echod: inherited fd 3 \(odd\) is a socket echod cannot serve'
}

@test "LISTEN_PID and LISTEN_FDS junk is refused, one line each, exit status 5" {
        run "$PY" "$HELPERS/pass_fds.py" --listen 1 --env LISTEN_PID=1 -- "$ECHOD"
        refused '^echod: LISTEN_PID=1 is not this process \([0-9]+\): sockets meant for another process$'
        run "$PY" "$HELPERS/pass_fds.py" --listen 1 --env LISTEN_PID=12x -- "$ECHOD"
        refused "^echod: LISTEN_PID='12x' is not a process id$"
        run "$PY" "$HELPERS/pass_fds.py" --listen 1 --fds ' 1' -- "$ECHOD"
        refused "^echod: LISTEN_FDS=' 1' is not a number from 0 to 256$"
        run "$PY" "$HELPERS/pass_fds.py" --listen 1 --fds 99999 -- "$ECHOD"
        refused "^echod: LISTEN_FDS='99999' is not a number from 0 to 256$"
        run env -u LISTEN_PID LISTEN_FDS=1 "$ECHOD" 3<&-
        refused '^echod: LISTEN_FDS is set but LISTEN_PID is not$'
        run "$PY" "$HELPERS/pass_fds.py" --listen 2 --env LISTEN_FDNAMES=one -- "$ECHOD"
        refused '^echod: LISTEN_FDNAMES does not give one name to each of the 2 passed fds'
}

@test "addresses on the command line with passed sockets: usage error, exit status 2" {
        run "$PY" "$HELPERS/pass_fds.py" --listen 1 -- "$ECHOD" "127.0.0.1:$PORT"
        assert_equal "$status" 2
        assert_line --regexp 'addresses on the command line cannot be combined with sockets passed'
}

@test "JOURNAL_STREAM: lines carry <N> priority prefixes where stdout/stderr are the journal" {
        local out=$BATS_TEST_TMPDIR/journal
        : >"$out"
        JOURNAL_STREAM=$(stat -c '%d:%i' "$out") "$ECHOD" "127.0.0.1:$PORT" >>"$out" 2>&1 3>&- &
        ECHOD_PID=$!
        track_pid "$ECHOD_PID"
        wait_for_line "$out" "^<6>starting up on 127.0.0.1 port $PORT$"
        # A second echod on the same port fails: its error is <3>, on the same stream.
        local status=0
        JOURNAL_STREAM=$(stat -c '%d:%i' "$out") "$ECHOD" "127.0.0.1:$PORT" 2>>"$out" || status=$?
        assert_equal "$status" 4
        wait_for_line "$out" "^<3>cannot listen on 127.0.0.1 port $PORT: address already in use$"
        # Without JOURNAL_STREAM the same lines are plain.
        run "$ECHOD" "127.0.0.1:$PORT"
        assert_output "echod: cannot listen on 127.0.0.1 port $PORT: address already in use"
        ECHOD_ERR=$out echod_stop
}

@test "JOURNAL_STREAM: the -vv trace is <7>, connection lines <6>, the drain <5>" {
        local out=$BATS_TEST_TMPDIR/journal
        : >"$out"
        JOURNAL_STREAM=$(stat -c '%d:%i' "$out") "$ECHOD" -vv "127.0.0.1:$PORT" >>"$out" 2>&1 3>&- &
        ECHOD_PID=$!
        track_pid "$ECHOD_PID"
        wait_for_line "$out" "^<6>starting up on 127.0.0.1 port $PORT$"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        wait_for_line "$out" '^<6>closed connection from '
        kill -TERM "$ECHOD_PID"
        wait_gone "$ECHOD_PID" 15 || fail "echod did not exit after SIGTERM"
        run sed -E 's/[0-9]+\)/PORT)/g' "$out"
        assert_output "$(cat <<-END
		<6>starting up on 127.0.0.1 port $PORT
		<6>connection from ('127.0.0.1', PORT)
		<7>received b'This is the mess'
		<7>sending data back to the client
		<7>received b'age.  It will be'
		<7>sending data back to the client
		<7>received b' repeated.'
		<7>sending data back to the client
		<7>received b''
		<7>no data from ('127.0.0.1', PORT)
		<6>closed connection from ('127.0.0.1', PORT): 42 bytes echoed
		<5>SIGTERM received, draining
		END
        )"
}

@test "SIGINT without -v: one line says echod is draining, then exit status 0" {
        echod_start "127.0.0.1:$PORT"
        kill -INT "$ECHOD_PID"
        wait_gone "$ECHOD_PID" 15 || fail "echod did not exit after SIGINT"
        local status=0
        wait "$ECHOD_PID" || status=$?
        assert_equal "$status" 0
        run cat "$ECHOD_OUT" "$ECHOD_ERR"
        assert_output "$(printf 'starting up on 127.0.0.1 port %s\nSIGINT received, draining' "$PORT")"
}
