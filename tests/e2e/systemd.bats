#!/usr/bin/env bats
# The shipped units under a real systemd 252 manager: PID 1 of a throw-away systemd-nspawn
# container (tests/helpers/sysd.bash), installed as a user would, with
#   meson setup --prefix=/opt/echod -Dsystemdsystemunitdir=/etc/systemd/system
#   meson install --destdir <container root>
# The container shares the host's network. The units' fixed ports (10000, 10001, 10002, 10007,
# UDP 10000) may be taken on a test machine, so each socket is moved to a free port by a drop-in, the way
# an administrator would (docs/deployment.md). One boot for the whole file; it builds its own
# plain tree (a sanitizer runtime has no place under SystemCallFilter=), so under an ASan
# ECHOD_BUILD it is skipped rather than run twice. About 15-25 s, most of it the build.

load '../helpers/common'
load '../helpers/sysd'

# Bats 1.8 cannot skip from setup_file: it leaves the reason for setup().
setup_file() {
        export SYSD_SKIP=""
        if [ "$(id -u)" != 0 ]; then
                SYSD_SKIP="needs root to boot systemd-nspawn"
        elif ! command -v systemd-nspawn >/dev/null; then
                SYSD_SKIP="systemd-nspawn missing: apt-get install systemd-container"
        elif grep -q -- '-fsanitize' "$BUILD/build.ninja" 2>/dev/null; then
                SYSD_SKIP="runs once, with the plain build (a sanitizer runtime cannot run under the units' SystemCallFilter=)"
        fi
        [ -z "$SYSD_SKIP" ] || return 0

        export INSTALL_BUILD=$BATS_FILE_TMPDIR/build
        meson setup "$INSTALL_BUILD" "$ROOT" --prefix=/opt/echod \
                -Dsystemdsystemunitdir=/etc/systemd/system >"$BATS_FILE_TMPDIR/setup.log" 2>&1 ||
                { cat "$BATS_FILE_TMPDIR/setup.log" >&2; return 1; }
        ninja -C "$INSTALL_BUILD" >"$BATS_FILE_TMPDIR/ninja.log" 2>&1 ||
                { cat "$BATS_FILE_TMPDIR/ninja.log" >&2; return 1; }

        # A bound, not a pause: a loaded CI machine can take several seconds to boot it.
        export SYSD_BOOT_TIMEOUT=${SYSD_BOOT_TIMEOUT:-30}
        sysd_up || return 1
        meson install -C "$INSTALL_BUILD" --destdir "$SYSD_ROOT" >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
                { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
        # As Debian's installer writes it: the host name resolves to 127.0.1.1.
        printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost\n' "$SYSD_NAME" \
                >"$SYSD_ROOT/etc/hosts"

        export P_ECHO P_ACCEPT P_ALL P_HOST P_UDP
        P_ECHO=$(free_port) P_ACCEPT=$(free_port) P_ALL=$(free_port) P_HOST=$(free_port)
        P_UDP=$(free_port --udp)
        move_socket echo.socket "ListenStream=127.0.0.1:$P_ECHO" "ListenStream=[::1]:$P_ECHO"
        # A wildcard address, where replying from the right address needs PassPacketInfo=yes.
        mkdir -p "$SYSD_UNITDIR/echo-udp.socket.d"
        printf '[Socket]\nListenDatagram=\nListenDatagram=0.0.0.0:%s\n' "$P_UDP" \
                >"$SYSD_UNITDIR/echo-udp.socket.d/test-port.conf"
        move_socket echo-accept.socket "ListenStream=127.0.0.1:$P_ACCEPT"
        move_socket echo-all.socket "ListenStream=$P_ALL"
        sysd_run systemctl daemon-reload
}

teardown_file() {
        [ -z "${SYSD_SKIP:-}" ] || return 0
        sysd_down
}

setup() {
        [ -z "${SYSD_SKIP:-}" ] || skip "$SYSD_SKIP"
        # The tests start echo.service more often than StartLimitBurst= allows in 10 s (5); a
        # reset-failed clears that count, so no test depends on how fast the others ran.
        sysd_run systemctl reset-failed
}

teardown() {
        teardown_tracked
}

# journal_wait UNIT GREP-ARGS... [-- JOURNALCTL-ARGS...]: waits up to 10 s until UNIT's journal
# (-o cat) has a line that grep matches with GREP-ARGS; journald takes in lines asynchronously,
# so a line a process wrote may be missing for a moment after systemctl returned.
journal_wait() {
        local unit=$1 grep_args=() jargs=()
        shift
        while [ $# -gt 0 ] && [ "$1" != -- ]; do grep_args+=("$1"); shift; done
        [ $# -eq 0 ] || { shift; jargs=("$@"); }
        _journal_grep() { sysd_run journalctl -u "$unit" -o cat --no-pager "${jargs[@]}" | grep -q "${grep_args[@]}"; }
        sysd_wait 10 _journal_grep ||
                fail "not in the journal of $unit (grep ${grep_args[*]}): $(sysd_run journalctl -u "$unit" --no-pager "${jargs[@]}")"
}

# move_socket UNIT LINE... : a drop-in that replaces UNIT's Listen lines with LINEs.
move_socket() {
        local unit=$1 d
        shift
        d=$SYSD_UNITDIR/$unit.d
        mkdir -p "$d"
        { echo '[Socket]'; echo 'ListenStream='; printf '%s\n' "$@"; } >"$d/test-port.conf"
}

prop() {        # prop UNIT PROPERTY
        sysd_run systemctl show -P "$2" "$1"
}

prop_is() {     # prop_is UNIT PROPERTY VALUE
        [ "$(prop "$1" "$2")" = "$3" ]
}

echo_service_idle_after() {     # STATUS= says none open and at least $1 served
        local served
        served=$(prop echo.service StatusText | sed -n 's/^0 connections, \([0-9]*\) served, .*/\1/p')
        [ "${served:-0}" -ge "$1" ]
}

accept_instances() {
        sysd_run systemctl list-units --no-legend --plain 'echo-accept@*.service' | grep -c ' running ' || true
}

@test "echo.socket: echo.service starts at the first connection, Type=notify, not root" {
        run sysd_run systemctl start echo.socket
        assert_success
        assert_equal "$(prop echo.service ActiveState)" inactive

        run "$ECHO_CLIENT" -q -m 'first of all' 127.0.0.1 "$P_ECHO"
        assert_success
        assert_equal "$(prop echo.service ActiveState)" active
        assert_equal "$(prop echo.service Type)" notify

        local pid uid
        pid=$(prop echo.service MainPID)
        [ "$pid" -gt 0 ]
        uid=$(sysd_run cat "/proc/$pid/status" | sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p')
        [ -n "$uid" ] && [ "$uid" != 0 ] || fail "echod runs as uid '$uid'"
        assert_equal "$(sysd_run cat "/proc/$pid/comm")" echod
        run "$ECHO_CLIENT" -q -m again ::1 "$P_ECHO"
        assert_success
        journal_wait echo.service -xF "starting up on 127.0.0.1 port $P_ECHO (fd 3, echo)"
        journal_wait echo.service -xF "starting up on ::1 port $P_ECHO (fd 4, echo)"
}

@test "echo.service: 300 concurrent clients intact, one process, STATUS= in systemctl status" {
        sysd_run systemctl start echo.socket
        run "$ECHO_CLIENT" -q -m wake 127.0.0.1 "$P_ECHO"
        assert_success
        local pid
        pid=$(prop echo.service MainPID)

        run "$PY" "$HELPERS/concurrent_clients.py" --port "$P_ECHO" --clients 300 --max-bytes 65536 --timeout 90
        assert_success
        assert_line --regexp '^300 of 300 clients intact'
        assert_equal "$(prop echo.service MainPID)" "$pid"

        # STATUS= is refreshed at most once a second, so it may still show the clients open.
        sysd_wait 5 echo_service_idle_after 301 || fail "StatusText: $(prop echo.service StatusText)"
        run sysd_run systemctl status --no-pager echo.service
        assert_line --regexp '^ +Status: "0 connections, [0-9]+ served, [0-9]+ bytes echoed"$'
}

# sequential_clients FILE : 150 echo-clients one after another, each streaming one of three
# random payloads and verifying every byte; one line "N STATUS" per client in FILE.
sequential_clients() {
        local i rc
        for ((i = 0; i < 150; i++)); do
                rc=0
                "$ECHO_CLIENT" -q -t 10 -f "$BATS_TEST_TMPDIR/payload$((i % 3))" 127.0.0.1 "$P_ECHO" || rc=$?
                echo "$i $rc" >>"$1"
        done
}

@test "echo.service: restarted twice while 150 clients connect one after another, none fails" {
        local progress=$BATS_TEST_TMPDIR/progress pid0 pid1 pid2 clients done
        head -c 1000 /dev/urandom >"$BATS_TEST_TMPDIR/payload0"
        head -c 65536 /dev/urandom >"$BATS_TEST_TMPDIR/payload1"
        head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/payload2"
        sysd_run systemctl start echo.socket
        run "$ECHO_CLIENT" -q -m wake 127.0.0.1 "$P_ECHO"
        assert_success
        pid0=$(prop echo.service MainPID)

        sequential_clients "$progress" 3>&- &
        clients=$!
        track_pid "$clients"
        # Clients cannot outrun a restart: while echod is down the next one waits in the
        # socket's queue. So after 20 and 10 more clients, most of the 150 are still to come.
        wait_for_line "$progress" . 20 20
        run sysd_run systemctl restart echo.service
        assert_success
        pid1=$(prop echo.service MainPID)
        done=$(wc -l <"$progress")
        wait_for_line "$progress" . 20 $((done + 10))
        run sysd_run systemctl restart echo.service
        assert_success
        pid2=$(prop echo.service MainPID)
        done=$(wc -l <"$progress")
        [ "$done" -lt 150 ] || fail "the clients finished before the second restart"

        wait_gone "$clients" 90 || fail "clients still running after 90 s"
        assert_equal "$(wc -l <"$progress")" 150
        run grep -v ' 0$' "$progress"
        assert_output ""        # no client refused (3), broken (5) or with a different echo (1)
        [ "$pid0" != "$pid1" ] && [ "$pid1" != "$pid2" ] && [ "$pid0" != "$pid2" ] ||
                fail "MainPID $pid0 -> $pid1 -> $pid2: not three processes"
        assert_equal "$(prop echo.socket ActiveState)" active
}

@test "echo.service: WatchdogSec=2s is kept happy by WATCHDOG=1" {
        mkdir -p "$SYSD_UNITDIR/echo.service.d"
        printf '[Service]\nWatchdogSec=2s\n' >"$SYSD_UNITDIR/echo.service.d/test-watchdog.conf"
        sysd_run systemctl daemon-reload
        sysd_run systemctl start echo.socket
        run sysd_run systemctl restart echo.service
        assert_success
        local pid
        pid=$(prop echo.service MainPID)
        assert_equal "$(prop echo.service WatchdogUSec)" 2s
        sleep 6         # the thing under test is time passing: three watchdog intervals
        local state now
        state=$(prop echo.service ActiveState) now=$(prop echo.service MainPID)
        run sysd_run journalctl -u echo.service -o cat --no-pager
        # The drop-in goes before any check can fail, so that it never outlives this test.
        rm "$SYSD_UNITDIR/echo.service.d/test-watchdog.conf"
        sysd_run systemctl daemon-reload
        refute_line --partial 'Watchdog timeout'
        assert_equal "$state" active
        assert_equal "$now" "$pid"
}

@test "echo-accept.socket: one instance per open connection, gone after hang-up" {
        run sysd_run systemctl start echo-accept.socket
        assert_success
        local a b c reply
        exec {a}<>"/dev/tcp/127.0.0.1/$P_ACCEPT" {b}<>"/dev/tcp/127.0.0.1/$P_ACCEPT" {c}<>"/dev/tcp/127.0.0.1/$P_ACCEPT"
        for fd in $a $b $c; do
                printf 'line on fd %s\n' "$fd" >&"$fd"
                read -r -t 5 reply <&"$fd" || fail "no echo on connection fd $fd"
                assert_equal "$reply" "line on fd $fd"
        done
        assert_equal "$(accept_instances)" 3
        assert_equal "$(prop echo-accept.socket NConnections)" 3
        exec {a}>&- {b}>&-
        sysd_wait 5 eval '[ "$(accept_instances)" = 1 ]' || fail "instances: $(accept_instances)"
        exec {c}>&-
        sysd_wait 5 eval '[ "$(accept_instances)" = 0 ]' || fail "instances: $(accept_instances)"
        assert_equal "$(prop echo-accept.socket NAccepted)" 3
        # Every instance exited 0: none is left failed.
        run sysd_run systemctl list-units --no-legend --plain --state=failed 'echo-accept@*'
        assert_output ""
}

@test "the seed's other two servers: the host name (echod-standalone@) and all addresses" {
        # As echo.socket(8) and the README write it, run by the container's shell, with the
        # test's free port for 10001 (this container shares the host's loopback).
        local unit="echod-standalone@$SYSD_NAME:$P_HOST.service"
        run sysd_run sh -c "systemctl enable --now \"echod-standalone@\$(hostname):$P_HOST.service\""
        assert_success
        assert_equal "$(prop "$unit" ActiveState)" active
        [ -L "$SYSD_UNITDIR/multi-user.target.wants/$unit" ] ||
                fail "enable made: $(ls "$SYSD_UNITDIR/multi-user.target.wants")"
        run "$ECHO_CLIENT" -q -m 'by host name' 127.0.1.1 "$P_HOST"
        assert_success
        journal_wait "$unit" -xF "starting up on $SYSD_NAME port $P_HOST"
        run sysd_run systemctl disable --now "$unit"
        assert_success
        assert_equal "$(prop "$unit" ActiveState)" inactive

        run sysd_run systemctl start echo-all.socket
        assert_success
        run "$ECHO_CLIENT" -q -m 'all addresses, IPv4' 127.0.0.1 "$P_ALL"
        assert_success
        run "$ECHO_CLIENT" -q -m 'all addresses, IPv6' ::1 "$P_ALL"
        assert_success
        journal_wait echo-all.service -xF "starting up on :: port $P_ALL (fd 3, echo-all)"
}

@test "echod-standalone@.service without an instance: enable takes %H:10001, --now cannot start it" {
        # What the docs used to say, and why they no longer do: enabling the template enables
        # its DefaultInstance (the host name, port 10001) for the next boot, but systemd starts
        # no template without an instance name.
        run sysd_run systemctl enable --now echod-standalone@.service
        assert_failure
        assert_output --partial 'missing the instance name'
        [ -L "$SYSD_UNITDIR/multi-user.target.wants/echod-standalone@$SYSD_NAME:10001.service" ] ||
                fail "enable made: $(ls "$SYSD_UNITDIR/multi-user.target.wants")"
        assert_equal "$(prop "echod-standalone@$SYSD_NAME:10001.service" ActiveState)" inactive
        run sysd_run systemctl disable echod-standalone@.service
        assert_success
        [ ! -e "$SYSD_UNITDIR/multi-user.target.wants/echod-standalone@$SYSD_NAME:10001.service" ]
}

@test "echo-accept@: a failed instance is unloaded (CollectMode=inactive-or-failed), not left listed" {
        sysd_run systemctl start echo-accept.socket
        local conn reply unit
        exec {conn}<>"/dev/tcp/127.0.0.1/$P_ACCEPT"
        printf 'hello\n' >&"$conn"
        read -r -t 5 reply <&"$conn" || fail "no echo"
        unit=$(sysd_run systemctl list-units --no-legend --plain --state=running 'echo-accept@*.service' | awk '{ print $1 }')
        [ -n "$unit" ] || fail "no running echo-accept@ instance"
        run sysd_run systemctl kill --signal=SIGKILL "$unit"
        assert_success
        exec {conn}>&-
        # It failed (the journal says so), and is unloaded: without CollectMode= it would stay
        # listed, "failed (Result: signal)", until a reset-failed. (No `systemctl show` on it
        # here: that would load it again from the template.)
        journal_wait "$unit" -F "Failed with result 'signal'"
        _no_accept_units() {
                [ -z "$(sysd_run systemctl list-units --no-legend --plain --all 'echo-accept@*')" ]
        }
        sysd_wait 5 _no_accept_units ||
                fail "still listed: $(sysd_run systemctl list-units --no-legend --plain --all 'echo-accept@*')"
}

@test "journalctl -p info leaves out the -vv trace (<7>), which LogLevelMax=info drops at the source" {
        mkdir -p "$SYSD_UNITDIR/echo.service.d"
        printf '[Service]\nExecStart=\nExecStart=/opt/echod/bin/echod -vv\n' >"$SYSD_UNITDIR/echo.service.d/test-vv.conf"
        sysd_run systemctl daemon-reload
        sysd_run systemctl start echo.socket
        sysd_run systemctl restart echo.service
        local cursor
        cursor=$(sysd_run journalctl -u echo.service -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
        run "$ECHO_CLIENT" -q -m 'traced' 127.0.0.1 "$P_ECHO"
        assert_success
        journal_wait echo.service -xF "received b'traced'" -- --after-cursor "$cursor"
        journal_wait echo.service -F "closed connection from ('127.0.0.1'," -- --after-cursor "$cursor"
        run sysd_run journalctl -u echo.service -t echod -o cat --no-pager -p info --after-cursor "$cursor"
        assert_line --partial "connection from ('127.0.0.1',"
        refute_line --partial "received b'"
        refute_line 'sending data back to the client'

        printf '[Service]\nLogLevelMax=info\n' >"$SYSD_UNITDIR/echo.service.d/test-loglevel.conf"
        sysd_run systemctl daemon-reload
        sysd_run systemctl restart echo.service
        cursor=$(sysd_run journalctl -u echo.service -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
        run "$ECHO_CLIENT" -q -m 'dropped' 127.0.0.1 "$P_ECHO"
        assert_success
        journal_wait echo.service -F "closed connection from ('127.0.0.1'," -- --after-cursor "$cursor"
        run sysd_run journalctl -u echo.service -t echod -o cat --no-pager --after-cursor "$cursor"
        # The drop-ins go before any check can fail, so that they never outlive this test.
        rm "$SYSD_UNITDIR/echo.service.d/test-vv.conf" "$SYSD_UNITDIR/echo.service.d/test-loglevel.conf"
        sysd_run systemctl daemon-reload
        sysd_run systemctl restart echo.service
        assert_line --partial "connection from ('127.0.0.1',"
        refute_line --partial "received b'"
}

@test "an address echod cannot bind: exit status 4, logged at priority err in the journal" {
        local unit="echod-standalone@127.0.0.1:$P_ECHO.service"
        sysd_run systemctl start echo.socket
        run sysd_run systemctl start "$unit"
        assert_failure
        journal_wait "$unit" -E '^[^ ]+: Main process exited, code=exited, status=4/'
        # -t echod (the stream's identifier), not _COMM=: journald may read the line after the
        # process is gone, when it can no longer look up its command name.
        journal_wait "$unit" -xF "cannot listen on 127.0.0.1 port $P_ECHO: address already in use" \
                -- -p err -t echod
        # Restart=on-failure tries again: stop it for good.
        sysd_run systemctl stop "$unit"
        sysd_run systemctl reset-failed "$unit" || true
}

@test "systemctl stop drains: an open connection keeps being echoed, then exit status 0" {
        sysd_run systemctl start echo.socket
        local conn reply
        exec {conn}<>"/dev/tcp/127.0.0.1/$P_ECHO"
        printf 'before stop\n' >&"$conn"
        read -r -t 5 reply <&"$conn" || fail "no echo before stop"
        assert_equal "$reply" "before stop"

        run sysd_run systemctl stop --no-block echo.service
        assert_success
        sysd_wait 5 prop_is echo.service ActiveState deactivating ||
                fail "echo.service is $(prop echo.service ActiveState)"
        # STOPPING=1 came with a STATUS= that says why, figures after it.
        sysd_wait 5 eval '[[ "$(prop echo.service StatusText)" =~ ^SIGTERM\ received,\ draining:\ 1\ connections ]]' ||
                fail "StatusText: $(prop echo.service StatusText)"
        printf 'after stop\n' >&"$conn"
        read -r -t 5 reply <&"$conn" || fail "no echo while draining"
        assert_equal "$reply" "after stop"
        exec {conn}>&-

        sysd_wait 10 prop_is echo.service ActiveState inactive || fail "echo.service is $(prop echo.service ActiveState)"
        assert_equal "$(prop echo.service Result)" success
        assert_equal "$(prop echo.service ExecMainStatus)" 0
        # The socket stayed with systemd: the next client starts echod again.
        run "$ECHO_CLIENT" -q -m 'after the stop' 127.0.0.1 "$P_ECHO"
        assert_success
}

@test "echo-udp.socket: the first datagram's reply comes from the address it went to; the filter works in the sandbox" {
        local tool=$ROOT/tests/helpers/udp_tool.py
        run sysd_run systemctl start echo-udp.socket
        assert_success
        assert_equal "$(prop echo-udp.service ActiveState)" inactive
        # The datagram that starts the service is answered from 127.0.0.5: PassPacketInfo=yes.
        run "$PY" "$tool" send 127.0.0.1 0 127.0.0.5 "$P_UDP" --connect --count 3 --wait 5
        assert_success
        assert_output "3 sent, 3 echoed, from 127.0.0.5 port $P_UDP"
        assert_equal "$(prop echo-udp.service ActiveState)" active
        journal_wait echo-udp.service -xF "starting up on 0.0.0.0 port $P_UDP (fd 3, UDP, echo-udp)"
        # A reserved source port, and lo's broadcast address 127.255.255.255, which echod can only
        # know from SIOCGIFCONF on the passed socket (PrivateNetwork=, RestrictAddressFamilies=).
        run "$PY" "$tool" send 127.0.0.1 1023 127.0.0.1 "$P_UDP" --wait 0.3
        assert_output "1 sent, 0 echoed"
        run "$PY" "$tool" forge 127.255.255.255 40000 127.0.0.1 "$P_UDP"
        assert_success
        sysd_wait 5 eval '[[ "$(prop echo-udp.service StatusText)" == *", 3 datagrams, 2 dropped (1 port, 1 address, 0 rate, 0 ceiling, 0 unsent)" ]]' ||
                fail "StatusText: $(prop echo-udp.service StatusText)"
        # Told at once, then at most once a minute: one line for the two.
        journal_wait echo-udp.service -E '^UDP: [0-9]+ datagrams dropped without a reply'
        assert_equal "$(sysd_run journalctl -u echo-udp.service -o cat --no-pager | grep -c '^UDP: ')" 1
        run sysd_run systemctl stop echo-udp.socket echo-udp.service
        assert_success
        assert_equal "$(prop echo-udp.service Result)" success
}
