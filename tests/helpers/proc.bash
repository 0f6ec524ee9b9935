# tests/helpers/proc.bash - processes and ports, for the Bats helpers (common.bash), the
# real-systemd harness (sysd.bash) and bench/run alike: source it, or `load` it from Bats.
# Plain bash, no Bats: every function returns its failure instead of raising it.

_PROC_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# True when PID $1 is gone or a zombie: an exited child stays a zombie until its parent waits
# for it (and a halted nspawn can stay one for seconds when an init reaps slowly).
pid_gone() {
        local stat
        read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
        stat=${stat##*) }
        [ "${stat%% *}" = Z ]
}

# Prints a TCP port that is free on 127.0.0.1 and ::1 right now (--udp: for UDP too), picked by
# the kernel so that concurrent test runs do not collide as fixed ports would.
free_port() {
        /usr/bin/python3 "$_PROC_HELPERS/free_port.py" "$@"
}
