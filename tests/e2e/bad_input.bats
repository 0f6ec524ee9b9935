#!/usr/bin/env bats
# Bad input, row by row as docs/security.md lists it: every option with empty, negative, huge and
# junk values, malformed addresses, LISTEN_* junk and inherited fds of the wrong kind. Each must
# give its documented exit status, exactly one line on stderr naming what is wrong, no crash
# (no signal, no sanitizer report) and no hang (10 s at most). core.bats has the first few
# cases of each kind; these complement them.

load '../helpers/common'

PASS_FDS=$ROOT/tests/helpers/pass_fd_kinds.py

setup() {
        PORT=$(free_port)
}

teardown() {
        teardown_tracked
}

# refused [--stdout-ok] STATUS TEXT COMMAND...: exit STATUS within 10 s, one stderr line holding
# TEXT, nothing on stdout (unless --stdout-ok: lines announcing passed sockets came first).
# Plain bash rather than `run`: it is called some 300 times.
refused() {
        local want text err out rc=0 stdout_ok=
        if [ "$1" = --stdout-ok ]; then stdout_ok=1; shift; fi
        want=$1 text=$2
        shift 2
        err=$(timeout 10 "$@" 2>&1 >"$BATS_TEST_TMPDIR/stdout" 3>&-) || rc=$?
        out=$(<"$BATS_TEST_TMPDIR/stdout")
        if [ "$rc" != "$want" ] || [[ "$err" == *$'\n'* ]] || [[ "$err" != *"$text"* ]] || { [ -n "$out" ] && [ -z "$stdout_ok" ]; } ||
           [[ "$err" == *Sanitizer* ]] || [[ "$err" == *"runtime error:"* ]]; then
                printf 'command: '; printf '%q ' "$@"; echo
                echo "status $rc (want $want); stdout: '$out'"
                echo "stderr (want one line holding '$text'):"
                printf '%s\n' "$err"
                return 1
        fi
}

# refused_env STATUS TEXT VAR=VALUE...: echod run by a shell that sets the variables and execs it,
# so that LISTEN_PID=SELF can name echod's own pid.
refused_env() {
        local want=$1 text=$2; shift 2
        refused "$want" "$text" /bin/bash -c "$(printf 'export %q; ' "$@" | sed 's/SELF/$$/g')"' exec "$0"' "$ECHOD"
}

# --- echod: options ------------------------------------------------------------------------

@test "echod: each number option refuses empty, signed, too big, junk-laden values (exit 2)" {
        local opt range bad
        for opt in "max-connections 1 10000000" "idle-timeout 0 604800" "drain-timeout 0 3600" \
                   "exit-idle 0 604800" "workers 1 64" "buffer-size 1024 67108864" \
                   "udp-rate 0 1000000" "udp-global-rate 0 10000000"; do
                read -r name min max <<<"$opt"
                range="(expected a whole number from $min to $max)"
                for bad in '' '-1' '+5' ' 5' '5x' '0x10' '5.0' "$((max + 1))" '18446744073709551617'; do
                        refused 2 "invalid value for --$name: '$bad' $range" "$ECHOD" "--$name" "$bad"
                done
                refused 2 "invalid value for --$name: '' $range" "$ECHOD" "--$name="
                if [ "$min" -gt 0 ]; then
                        refused 2 "invalid value for --$name: '$((min - 1))' $range" "$ECHOD" "--$name" "$((min - 1))"
                fi
                refused 2 "option '--$name' needs a value" "$ECHOD" "--$name"
        done
}

@test "echod: a value with a newline or of 100 000 bytes still gives one line (exit 2)" {
        refused 2 "invalid value for --workers: '1\\x0a2'" "$ECHOD" --workers $'1\n2'
        refused 2 "invalid value for --idle-timeout: '\\x1b[31m'" "$ECHOD" --idle-timeout $'\e[31m'
        refused 2 "invalid value for --workers: '\\xc2\\x9b2J\\x9b'" "$ECHOD" --workers $'\xc2\x9b2J\x9b'
        long=$(printf '9%.0s' $(seq 100000))
        refused 2 "invalid value for --buffer-size: '999" "$ECHOD" --buffer-size "$long"
        refused 2 "invalid address '" "$ECHOD" "$long"
}

@test "echod: options that take no value, ambiguous and unknown ones (exit 2)" {
        refused 2 "option '--verbose' takes no value" "$ECHOD" --verbose=2
        refused 2 "option '--inetd' takes no value" "$ECHOD" --inetd=yes
        refused 2 "option '--help' takes no value" "$ECHOD" --help=1
        refused 2 "option '--version' takes no value" "$ECHOD" --version=
        refused 2 "ambiguous option '--ver'" "$ECHOD" --ver
        refused 2 "unknown option '-x'" "$ECHOD" -vx
        refused 2 "unknown option '---'" "$ECHOD" ---
        refused 2 "address 'localhost' cannot be combined with --inetd" "$ECHOD" --inetd localhost
}

@test "echod: the limits at their edges are accepted" {
        echod_start --max-connections 1 --idle-timeout 604800 --drain-timeout 3600 --exit-idle 0 \
                --workers 64 --buffer-size 1024 "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        echod_stop
        echod_start --max-connections 10000000 --idle-timeout 0 --drain-timeout 0 --exit-idle 604800 \
                --workers 1 --buffer-size 67108864 "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -q 127.0.0.1 "$PORT"
        assert_success
        echod_stop
}

# --- echod: addresses ----------------------------------------------------------------------

@test "echod: malformed addresses and IPv6 literals (exit 2)" {
        refused 2 "invalid address '': empty address" "$ECHOD" ''
        refused 2 "invalid address '[]:$PORT': empty IPv6 address" "$ECHOD" "[]:$PORT"
        refused 2 "invalid address '[::1]x': expected ':PORT' after ']'" "$ECHOD" '[::1]x'
        refused 2 "invalid address '[::1]$PORT': expected ':PORT' after ']'" "$ECHOD" "[::1]$PORT"
        refused 2 "invalid address '[127.0.0.1]:$PORT': not an IPv6 address" "$ECHOD" "[127.0.0.1]:$PORT"
        refused 2 "invalid address '[::1::2]:$PORT': not an IPv6 address" "$ECHOD" "[::1::2]:$PORT"
        refused 2 "invalid address '[::g]': not an IPv6 address" "$ECHOD" '[::g]'
        refused 2 "invalid address '[no\$such\$host]:$PORT': not an IPv6 address" "$ECHOD" "[no\$such\$host]:$PORT"
        refused 2 "invalid address '::1::2': an IPv6 address with a port needs brackets" "$ECHOD" '::1::2'
        refused 2 "invalid address 'localhost]:$PORT': stray '[' or ']'" "$ECHOD" "localhost]:$PORT"
        refused 2 "invalid address '[::1]]:$PORT'" "$ECHOD" "[::1]]:$PORT"
        refused 2 "host name too long" "$ECHOD" "$(printf 'a%.0s' $(seq 300)):$PORT"
}

@test "echod: ports empty, out of range, signed or with junk (exit 2)" {
        local p
        for p in '' '0' '65536' '-1' '+80' ' 80' '80 ' '99999999999999999999999' '8o' '80/tcp' 'ec ho'; do
                refused 2 "invalid address 'localhost:$p'" "$ECHOD" "localhost:$p"
        done
        refused 2 "invalid address '[::1]:': empty port" "$ECHOD" '[::1]:'
        refused 2 "invalid address '[::1]:65536': port must be a number from 1 to 65535" "$ECHOD" '[::1]:65536'
}

@test "echod: a name that does not resolve, without a port or with a service name (exit 3)" {
        refused 3 "cannot resolve 'no\$such\$host'" "$ECHOD" 'no$such$host'
        refused 3 "cannot resolve 'no\$such\$host'" "$ECHOD" 'no$such$host:echo'
}

@test "echod: an address that is not this machine's (exit 4)" {
        # 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
        refused 4 "cannot listen on 192.0.2.1 port $PORT: cannot assign requested address" "$ECHOD" "192.0.2.1:$PORT"
}

@test "echod: a runtime failure after start-up, no fd left for the event loop (exit 1)" {
        run --separate-stderr timeout 10 prlimit --nofile=4:4 -- "$ECHOD" "127.0.0.1:$PORT" 3>&-
        assert_equal "$status" 1
        assert_equal "$stderr" "echod: cannot set up event loop: too many open files"
}

# --- echod: environment and inherited fds ----------------------------------------------------

@test "echod: LISTEN_PID and LISTEN_FDS junk (exit 5)" {
        refused_env 5 "LISTEN_FDS is set but LISTEN_PID is not" LISTEN_FDS=1
        refused_env 5 "LISTEN_PID is set but LISTEN_FDS is not" LISTEN_PID=SELF
        refused_env 5 "LISTEN_FDNAMES is set but LISTEN_FDS is not" LISTEN_FDNAMES=web
        for bad in '' '0' '-1' ' 1' 'SELFx' 'abc' '99999999999999999999'; do
                refused_env 5 "LISTEN_PID='" LISTEN_PID="$bad" LISTEN_FDS=1
        done
        refused_env 5 "LISTEN_PID=1 is not this process" LISTEN_PID=1 LISTEN_FDS=1
        for bad in '' '-1' '+1' '1x' '257' '99999999999999999999'; do
                refused_env 5 "LISTEN_FDS='$bad' is not a number from 0 to 256" LISTEN_PID=SELF LISTEN_FDS="$bad"
        done
}

@test "echod: LISTEN_FDNAMES junk (exit 5)" {
        refused 5 "LISTEN_FDNAMES does not give one name to each of the 1 passed fds ('a:b' has 2)" "$PY" "$PASS_FDS" --names a:b tcp-listen -- "$ECHOD"
        refused 5 "LISTEN_FDNAMES does not give one name to each of the 1 passed fds ('' has 0)" "$PY" "$PASS_FDS" --names '' tcp-listen -- "$ECHOD"
        refused 5 "LISTEN_FDNAMES does not give one name to each of the 2 passed fds ('a' has 1)" "$PY" "$PASS_FDS" --names a tcp-listen udp -- "$ECHOD"
        refused 5 "LISTEN_FDNAMES holds a control character (0x0a)" "$PY" "$PASS_FDS" --names $'a\nb' tcp-listen -- "$ECHOD"
        refused 5 "LISTEN_FDNAMES holds a name longer than 255 bytes" "$PY" "$PASS_FDS" \
                --names "$(printf 'n%.0s' $(seq 256))" tcp-listen -- "$ECHOD"
}

@test "echod: LISTEN_FDS larger than the fds really open (exit 5)" {
        refused 5 "inherited fd 3 is not open, but LISTEN_FDS=1 says it was passed" "$PY" "$PASS_FDS" --listen-fds 1 -- "$ECHOD"
        refused 5 "inherited fd 4 is not open, but LISTEN_FDS=3 says it was passed" "$PY" "$PASS_FDS" --listen-fds 3 tcp-listen -- "$ECHOD"
}

@test "echod: inherited fds that are not sockets, or sockets it cannot serve (exit 5)" {
        refused 5 "inherited fd 3 is a regular file, not a socket" "$PY" "$PASS_FDS" file -- "$ECHOD"
        refused 5 "inherited fd 3 is a pipe, not a socket" "$PY" "$PASS_FDS" pipe -- "$ECHOD"
        refused 5 "inherited fd 3 is a character device, not a socket" "$PY" "$PASS_FDS" null -- "$ECHOD"
        refused 5 "inherited fd 4 (dir) is a directory, not a socket" "$PY" "$PASS_FDS" --names web:dir tcp-listen dir -- "$ECHOD"
        for kind in unix-dgram unix-seqpacket netlink; do
                refused 5 "inherited fd 3 is a socket echod cannot serve" "$PY" "$PASS_FDS" "$kind" -- "$ECHOD"
        done
        refused --stdout-ok 5 "inherited fd 4 is a connected socket, but 2 sockets were passed" \
                "$PY" "$PASS_FDS" tcp-listen tcp-connected -- "$ECHOD"
        refused --stdout-ok 2 "cannot be combined with sockets passed by the service manager" \
                "$PY" "$PASS_FDS" tcp-listen -- "$ECHOD" "127.0.0.1:$PORT"
}

@test "echod --inetd: fd 0 not a socket, the error on stderr rather than in syslog (exit 5)" {
        local k
        for k in "null:a character device" "file:a regular file" "pipe:a pipe" "dir:a directory"; do
                refused 5 "inherited fd 0 (stdin, where --inetd expects the socket) is ${k#*:}, not a socket" \
                        "$PY" "$PASS_FDS" --stdin "${k%%:*}" -- "$ECHOD" --inetd
        done
        # A socket of the wrong kind on fd 0 may be inetd's: that error goes to syslog.
}

# --- echo-client ---------------------------------------------------------------------------

@test "echo-client: --timeout refuses empty, signed, too big, junk-laden values (exit 2)" {
        local bad
        for bad in '' '0' '-1' '+5' ' 5' '5x' '1.5' '86401' '99999999999999999999999'; do
                refused 2 "invalid value for --timeout: '$bad' (expected a whole number from 1 to 86400)" \
                        "$ECHO_CLIENT" --timeout "$bad"
                refused 2 "invalid value for --timeout: '$bad'" "$ECHO_CLIENT" -t "$bad"
        done
        refused 2 "option '-t' needs a value" "$ECHO_CLIENT" -t
        refused 2 "option '--message' needs a value" "$ECHO_CLIENT" --message
}

@test "echo-client: options that take no value, -m with -f, unknown options (exit 2)" {
        refused 2 "option '--quiet' takes no value" "$ECHO_CLIENT" --quiet=1
        refused 2 "option '--info' takes no value" "$ECHO_CLIENT" --info=yes
        refused 2 "-m and -f cannot be used together" "$ECHO_CLIENT" -m x -f /etc/hostname
        refused 2 "unknown option '-z'" "$ECHO_CLIENT" -qz
        refused 2 "invalid value for --timeout: '1\\x0a2'" "$ECHO_CLIENT" -t $'1\n2'
}

@test "echo-client: host and port empty, out of range or with junk (exit 2)" {
        local p
        refused 2 "empty host name" "$ECHO_CLIENT" ''
        for p in '' '0' '65536' ' 80' '80 ' '8o' '99999999999999999999999' 'ec ho' '80/tcp'; do
                refused 2 "invalid port '$p': must be a number from 1 to 65535 or a service name" \
                        "$ECHO_CLIENT" localhost "$p"
        done
}

@test "echo-client: names and malformed IPv6 literals that do not resolve (exit 3)" {
        refused 3 "cannot resolve '::1::2'" "$ECHO_CLIENT" -q '::1::2' "$PORT"
        refused 3 "cannot resolve '[::1]'" "$ECHO_CLIENT" -q '[::1]' "$PORT"
        refused 3 "cannot resolve 'no\$such\$host'" "$ECHO_CLIENT" -q 'no$such$host'
}

@test "echo-client: an input that cannot be read, found before connecting (exit 4)" {
        # No server listens on PORT: exit 4, not 3, shows the file was checked first.
        refused 4 "cannot read /: is a directory" "$ECHO_CLIENT" -q -f / 127.0.0.1 "$PORT"
        refused 4 "cannot open : no such file or directory" "$ECHO_CLIENT" -q -f '' 127.0.0.1 "$PORT"
}

@test "echo-client: a server that accepts and never echoes (exit 5 after --timeout)" {
        echod_start "127.0.0.1:$PORT"
        kill -STOP "$ECHOD_PID"
        refused 5 "no progress for 1 s: 0 of 42 bytes came back" "$ECHO_CLIENT" -q -t 1 127.0.0.1 "$PORT"
        kill -CONT "$ECHOD_PID"
        echod_stop
}

@test "echo-client: the probe's numbers refuse empty, signed, fractional where whole, too many decimals, out of range (exit 2)" {
        local bad
        for bad in '' '0' '-1' '+5' ' 5' '5x' '1.5' '1000000001' '99999999999999999999999'; do
                refused 2 "invalid value for --count: '$bad' (expected a whole number from 1 to 1000000000)" "$ECHO_CLIENT" -c "$bad"
        done
        for bad in '' '0' '-1' '65508' '1.5' '64k'; do
                refused 2 "invalid value for --size: '$bad' (expected a whole number from 1 to 65507)" "$ECHO_CLIENT" -s "$bad"
        done
        for bad in '' '0' '0.0' '-1' '+1' '.5' '1.' '1.2345' '1,5' '1e3' '3600.001' '99999999999999999999'; do
                refused 2 "invalid value for --interval: '$bad' (expected seconds from 0.001 to 3600" "$ECHO_CLIENT" --interval "$bad"
                refused 2 "invalid value for --wait: '$bad' (expected seconds from 0.001 to 3600" "$ECHO_CLIENT" -W "$bad"
        done
        for bad in '' '0' '-1' '604800.001' 'x'; do
                refused 2 "invalid value for --deadline: '$bad' (expected seconds from 0.001 to 604800)" "$ECHO_CLIENT" -w "$bad"
        done
        refused 2 "option '-c' needs a value" "$ECHO_CLIENT" -c
        refused 2 "option '--interval' needs a value" "$ECHO_CLIENT" --interval
        refused 2 "option '--keep' takes no value" "$ECHO_CLIENT" --keep=1
        refused 2 "option '--json' takes no value" "$ECHO_CLIENT" --json=yes
}

@test "echo-client: the probe's edges are accepted: -s 65507, --interval 0.001, -W 3600, -w 604800" {
        echod_start "127.0.0.1:$PORT"
        run "$ECHO_CLIENT" -q -c 2 -s 65507 --interval 0.001 -W 3600 -w 604800 "127.0.0.1:$PORT"
        assert_success
        echod_stop
}

@test "echo-client: probe options that do not go together, -i for ping users, -4 with -6 (exit 2)" {
        refused 2 "-m sends one exchange and cannot be used with the probe's options" "$ECHO_CLIENT" -m x -c 1
        refused 2 "-f sends one exchange and cannot be used with the probe's options" "$ECHO_CLIENT" -f /etc/hostname -u
        refused 2 "-i is --info (the seed's create_connection client), not ping's interval: use --interval SEC" "$ECHO_CLIENT" -c 3 -i 0.2
        refused 2 "--timeout is for one exchange: give probes their time with -W/--wait" "$ECHO_CLIENT" -c 3 -t 5
        refused 2 "--keep is for TCP probes: UDP probes need no connection" "$ECHO_CLIENT" --keep -u
        refused 2 "-4 and -6 cannot be used together" "$ECHO_CLIENT" -4 -6
        refused 2 "-q prints nothing and --json prints one object: choose one" "$ECHO_CLIENT" -q --json
        refused 2 "too many arguments: 'c' (expected [HOST [PORT]] or ADDRESS)" "$ECHO_CLIENT" -c 1 a b c
        refused 2 "empty host name" "$ECHO_CLIENT" -c 1 ''
}

@test "echo-client: a name that does not resolve to the family asked for, probes to nowhere (exit 3)" {
        refused 3 "cannot resolve '127.0.0.1' to an IPv6 address" "$ECHO_CLIENT" -q -6 127.0.0.1 "$PORT"
        refused 3 "cannot resolve '::1' to an IPv4 address" "$ECHO_CLIENT" -q -4 -c 1 "[::1]:$PORT"
        refused 3 "cannot resolve 'no\$such\$host'" "$ECHO_CLIENT" -c 1 'no$such$host'
}
