#!/usr/bin/env bats
# Proves tests/helpers/sysd.bash: a real systemd, PID 1 of a throw-away container,
# socket-activates an Accept=yes service that the host reaches on 127.0.0.1.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '../helpers/sysd'

# Bats 1.8 cannot skip from setup_file, so setup_file leaves the reason for setup().
setup_file() {
        if [ "$(id -u)" != 0 ]; then
                export SMOKE_SKIP="needs root to boot systemd-nspawn"
                return 0
        fi
        if ! command -v systemd-nspawn >/dev/null; then
                export SMOKE_SKIP="systemd-nspawn missing: apt-get install -y --no-install-recommends systemd-container"
                return 0
        fi
        SMOKE_PORT=$(sysd_free_port)
        export SMOKE_PORT
        sysd_up
        echo "# systemd running in the container after ${SYSD_BOOT_MS} ms" >&3
}

teardown_file() {
        sysd_down || return 1
        if [ -n "${SMOKE_PORT:-}" ] && sysd_port_open "$SMOKE_PORT"; then
                echo "127.0.0.1:$SMOKE_PORT still accepts after sysd_down" >&2
                return 1
        fi
}

setup() {
        if [ -n "${SMOKE_SKIP:-}" ]; then
                skip "$SMOKE_SKIP"
        fi
}

install_echo_units() {
        cat >"$SYSD_UNITDIR/smoke-echo.socket" <<EOF
[Socket]
ListenStream=127.0.0.1:$SMOKE_PORT
Accept=yes
EOF
        cat >"$SYSD_UNITDIR/smoke-echo@.service" <<'EOF'
[Service]
ExecStart=/usr/bin/cat
StandardInput=socket
StandardOutput=socket
StandardError=journal
EOF
}

echo_instances() {
        sysd_run systemctl list-units --no-legend --plain --all 'smoke-echo@*.service'
}

no_echo_instances() {
        [ -z "$(echo_instances)" ]
}

@test "systemd is PID 1 of the container and reached running" {
        run sysd_run cat /proc/1/comm
        assert_success
        assert_output systemd

        run sysd_run systemctl is-system-running
        assert_output running
}

@test "Accept=yes socket echoes through one instance per connection, gone after hang-up" {
        local conn reply

        install_echo_units
        sysd_run systemctl daemon-reload
        run sysd_run systemctl start smoke-echo.socket
        assert_success
        run sysd_run systemctl is-active smoke-echo.socket
        assert_output active

        exec {conn}<>"/dev/tcp/127.0.0.1/$SMOKE_PORT"
        printf 'hello echod\n' >&"$conn"
        read -r -t 5 reply <&"$conn" || fail "no echo from 127.0.0.1:$SMOKE_PORT within 5 s"
        assert_equal "$reply" "hello echod"

        run echo_instances
        assert_success
        assert_equal "${#lines[@]}" 1
        assert_line --regexp '^smoke-echo@[^ ]+\.service +loaded +active +running '

        exec {conn}>&-
        sysd_wait 5 no_echo_instances || fail "instance still there 5 s after hang-up: $(echo_instances)"

        run sysd_run systemctl show -P NAccepted smoke-echo.socket
        assert_output 1
        run sysd_run systemctl stop smoke-echo.socket
        assert_success
}
