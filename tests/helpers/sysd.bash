# tests/helpers/sysd.bash - boot a real systemd manager for end-to-end tests.
#
# The host's own systemd runs as PID 1 of a throw-away systemd-nspawn container whose root is
# a skeleton directory: the host's /usr bind-mounted read-only and a tiny generated /etc, so
# no host service is enabled inside and nothing is downloaded. The container shares the host
# network: ListenStream=127.0.0.1:PORT inside is 127.0.0.1:PORT on the host.
#
# Use from Bats (load '../helpers/sysd') or from plain bash (source it). Needs root, systemd,
# systemd-container, util-linux (nsenter, setpriv, setsid, unshare, findmnt), procps (pgrep),
# python3 (free_port.py).
#
#   sysd_up            boot and wait until `systemctl is-system-running --wait` says running.
#                      Exports SYSD_NSPAWN (nspawn pid), SYSD_LEADER (container PID 1, host
#                      pid), SYSD_ROOT (container root, host path), SYSD_UNITDIR
#                      ($SYSD_ROOT/etc/systemd/system), and for sysd_down SYSD_DIR SYSD_NAME
#                      SYSD_CGROUPS SYSD_GUARD, and SYSD_BOOT_MS.
#                      0 running; 1 boot failed (reason and console on stderr, already torn
#                      down); 2 not root, a tool missing, or already up.
#   sysd_run CMD...    run CMD inside the container; CMD's status, 2 if no container.
#   sysd_down          halt, check that nothing is left in our cgroups (SIGKILL what is),
#                      remove the cgroups and SYSD_DIR, unset the SYSD_* state. Idempotent.
#                      0 clean; 1 something had to be killed or could not be removed.
#   sysd_reap_stale    remove empty cgroups and base directories left by earlier runs whose
#                      creator is gone (a SIGKILLed test); never touches a populated cgroup.
#   sysd_wait SECS CMD...   poll CMD every 50 ms until it succeeds; 1 after SECS seconds.
#   sysd_port_open PORT     0 if something accepts connections on 127.0.0.1:PORT.
#   sysd_free_port          print a port free on the loopback now (proc.bash's free_port).
#
# Settings: SYSD_BASE (base directory, must be absent or empty, removed by sysd_down; default
# a mktemp -d /tmp/echod-sysd.XXXXXX), SYSD_BOOT_TIMEOUT (s, default 30), SYSD_STOP_TIMEOUT
# (s, default 30).
#
# The container is tied to the shell that calls sysd_up (pdeathsig): call sysd_up and sysd_down
# from one long-lived process (Bats: setup_file and teardown_file), never inside $(...) or
# ( ... ), or the container halts as soon as that subshell exits.
#
# Every function works under Bats' `set -eET` and without it: failures are returned, not raised.

# shellcheck source=tests/helpers/proc.bash
source "$(dirname "${BASH_SOURCE[0]}")/proc.bash" || return 2

_SYSD_PREFIX=echod-sysd
_SYSD_MARKER=.echod-sysd

_sysd_log() {
        printf 'sysd: %s\n' "$*" >&2
}

# Sets the variable named $1 to a monotonic-enough clock in ms, without forking.
_sysd_ms() {
        local us=${EPOCHREALTIME//[!0-9]/}
        printf -v "$1" '%d' $((us / 1000))
}

# A zombie counts as gone (pid_gone): a halted nspawn can stay one for seconds when an init
# reaps slowly.
_sysd_alive() {
        ! pid_gone "$1"
}

# Sets _SYSD_PARENTS to this process's cgroup directory in every mounted hierarchy but cpuset
# (a new v1 cpuset group takes no task until cpus and mems are set); a hierarchy mounted twice
# counts once.
_sysd_find_parents() {
        local mnt fstype opts line id ctrl path rest c ok seen=" "
        local -a own ctrls
        _SYSD_PARENTS=()
        mapfile -t own </proc/self/cgroup
        while read -r mnt fstype opts; do
                id="" path=""
                for line in "${own[@]}"; do
                        rest=${line#*:}
                        ctrl=${rest%%:*}
                        if [ "$fstype" = cgroup2 ]; then
                                [ -z "$ctrl" ] || continue
                        else
                                [ -n "$ctrl" ] || continue
                                case ",$ctrl," in *,cpuset,*) continue ;; esac
                                IFS=, read -ra ctrls <<<"$ctrl"
                                ok=1
                                for c in "${ctrls[@]}"; do
                                        case ",$opts," in *",$c,"*) ;; *) ok=0 ;; esac
                                done
                                [ "$ok" = 1 ] || continue
                        fi
                        id=${line%%:*}
                        path=${rest#*:}
                        break
                done
                [ -n "$id" ] || continue
                case $seen in *" $id "*) continue ;; esac
                seen="$seen$id "
                path=${path%/}
                if [ -d "$mnt$path" ]; then _SYSD_PARENTS+=("$mnt$path"); fi
        done < <(findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,OPTIONS)
}

# Prints the pids in the cgroup trees given as arguments.
_sysd_cgroup_pids() {
        local d
        local -a dirs=()
        for d in "$@"; do
                if [ -d "$d" ]; then dirs+=("$d"); fi
        done
        [ "${#dirs[@]}" -gt 0 ] || return 0
        find "${dirs[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un
}

# Removes cgroup trees, deepest first; a task that has just exited can keep one busy briefly.
_sysd_remove_cgroups() {
        local d now deadline=""
        local -a dirs
        while :; do
                dirs=()
                for d in "$@"; do
                        if [ -d "$d" ]; then dirs+=("$d"); fi
                done
                [ "${#dirs[@]}" -gt 0 ] || return 0
                _sysd_ms now
                if [ -z "$deadline" ]; then
                        deadline=$((now + 2000))
                elif [ "$now" -ge "$deadline" ]; then
                        _sysd_log "cannot remove cgroups ${dirs[*]}"
                        return 1
                else
                        sleep 0.05
                fi
                find "${dirs[@]}" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
}

# Removes a base directory only if we made it (marker file) or it is empty.
_sysd_remove_dir() {
        local dir=$1
        [ -d "$dir" ] || return 0
        if [ -e "$dir/$_SYSD_MARKER" ]; then
                rm -rf --one-file-system -- "$dir" && return 0
        else
                rmdir -- "$dir" 2>/dev/null && return 0
        fi
        _sysd_log "cannot remove $dir"
        return 1
}

_sysd_clear_state() {
        unset SYSD_NSPAWN SYSD_GUARD SYSD_LEADER SYSD_ROOT SYSD_UNITDIR SYSD_DIR SYSD_NAME \
                SYSD_CGROUPS SYSD_BOOT_MS
}

sysd_wait() {
        local secs=$1 now deadline
        shift
        _sysd_ms now
        deadline=$((now + secs * 1000))
        until "$@"; do
                _sysd_ms now
                [ "$now" -lt "$deadline" ] || return 1
                sleep 0.05
        done
}

sysd_port_open() {
        local fd
        exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
        exec {fd}>&-
} 2>/dev/null

sysd_free_port() {
        free_port || { _sysd_log "no free port found"; return 1; }
}

sysd_run() {
        if [ -z "${SYSD_LEADER:-}" ]; then
                _sysd_log "sysd_run: no container (call sysd_up first)"
                return 2
        fi
        nsenter --target "$SYSD_LEADER" --all -- "$@"
}

sysd_reap_stale() {
        local parent d pid dir
        _sysd_find_parents
        for parent in "${_SYSD_PARENTS[@]}"; do
                for d in "$parent/$_SYSD_PREFIX"-*; do
                        [ -d "$d" ] || continue
                        pid=${d##*-}
                        case $pid in '' | *[!0-9]*) continue ;; esac
                        if kill -0 "$pid" 2>/dev/null; then continue; fi
                        # A container whose creator is gone may still be halting.
                        [ -z "$(_sysd_cgroup_pids "$d")" ] || continue
                        _sysd_remove_cgroups "$d" || true
                done
        done
        for dir in /tmp/"$_SYSD_PREFIX".* ${SYSD_BASE:+"$SYSD_BASE"}; do
                [ -f "$dir/$_SYSD_MARKER" ] || continue
                read -r pid 2>/dev/null <"$dir/$_SYSD_MARKER" || continue
                case $pid in '' | *[!0-9]*) continue ;; esac
                if kill -0 "$pid" 2>/dev/null; then continue; fi
                for parent in "${_SYSD_PARENTS[@]}"; do
                        [ ! -d "$parent/$_SYSD_PREFIX-$pid" ] || continue 2
                done
                _sysd_remove_dir "$dir" || true
        done
        return 0
}

_sysd_check_host() {
        local tool
        if [ "$(id -u)" != 0 ]; then
                _sysd_log "must run as root"
                return 2
        fi
        for tool in systemd-nspawn nsenter setpriv setsid unshare findmnt pgrep; do
                if ! command -v "$tool" >/dev/null; then
                        _sysd_log "$tool missing (apt-get install -y --no-install-recommends systemd-container util-linux procps)"
                        return 2
                fi
        done
        if [ ! -x /usr/lib/systemd/systemd ]; then
                _sysd_log "host has no /usr/lib/systemd/systemd"
                return 2
        fi
}

_sysd_make_dir() {
        if [ -n "${SYSD_BASE:-}" ]; then
                mkdir -p -- "$SYSD_BASE" || return 1
                if [ -n "$(ls -A -- "$SYSD_BASE")" ]; then
                        _sysd_log "SYSD_BASE=$SYSD_BASE is not empty"
                        return 1
                fi
                SYSD_DIR=$(cd -- "$SYSD_BASE" && pwd) || return 1
        else
                SYSD_DIR=$(mktemp -d "/tmp/$_SYSD_PREFIX.XXXXXX") || return 1
        fi
        export SYSD_DIR
        echo "$BASHPID" >"$SYSD_DIR/$_SYSD_MARKER" || return 1
}

_sysd_make_root() {
        local root=$SYSD_DIR/root units=$SYSD_DIR/root/etc/systemd/system l f uuid
        local -a links=() files=()
        mkdir -p "$root"/{usr,etc,var,tmp,root,run,proc,sys,dev,opt} "$units" || return 1
        for l in bin sbin lib lib64; do
                if [ -e "/usr/$l" ]; then links+=("usr/$l"); fi
        done
        ln -s "${links[@]}" "$root/" || return 1
        for f in /etc/passwd /etc/group /etc/nsswitch.conf /etc/ld.so.cache /usr/lib/os-release; do
                if [ -e "$f" ]; then files+=("$f"); fi
        done
        cp "${files[@]}" "$root/etc/" || return 1
        # Present and valid, so systemd does not take this for a first boot and preset every unit.
        read -r uuid </proc/sys/kernel/random/uuid || return 1
        echo "${uuid//-/}" >"$root/etc/machine-id" || return 1
        echo "$SYSD_NAME" >"$root/etc/hostname" || return 1
        # Skips the ldconfig/sysusers/journal-catalog "needs update" units.
        : >"$root/etc/.updated" && : >"$root/var/.updated" || return 1
        printf '%s\n' '[Unit]' 'Description=Minimal boot target for echod end-to-end tests' \
                'Requires=basic.target' 'After=basic.target' >"$units/sysd-test.target" || return 1
        ln -s sysd-test.target "$units/default.target" || return 1
        export SYSD_ROOT=$root SYSD_UNITDIR=$units
}

# Beneath our own cgroup, never at a hierarchy root: a manager started there would move
# processes that are not ours into its scopes.
_sysd_make_cgroups() {
        local parent
        export SYSD_CGROUPS=""
        _sysd_find_parents
        for parent in "${_SYSD_PARENTS[@]}"; do
                case $parent in *[[:space:]]*)
                        _sysd_log "cgroup path with whitespace not supported: $parent"
                        return 1
                        ;;
                esac
                # Not ours to use, nor for sysd_down to empty: left by an earlier process with our pid.
                if [ -e "$parent/$SYSD_NAME" ]; then
                        _sysd_log "$parent/$SYSD_NAME already exists"
                        return 1
                fi
        done
        for parent in "${_SYSD_PARENTS[@]}"; do
                SYSD_CGROUPS="${SYSD_CGROUPS:+$SYSD_CGROUPS }$parent/$SYSD_NAME"
        done
        if [ -z "$SYSD_CGROUPS" ]; then
                _sysd_log "no cgroup hierarchy mounted"
                return 1
        fi
        # shellcheck disable=SC2086 # paths without whitespace, checked above
        mkdir $SYSD_CGROUPS || return 1
}

# Runs "$@" in the background, as a child of the caller, the way every long-lived process of
# ours must run: inside our cgroups; holding none of the caller's descriptors beyond stdio (a
# pipe kept open, such as Bats' fd 3, makes the caller wait for the container); outside the
# caller's process group, so a group-wide SIGKILL (a CI timeout) cannot kill nspawn and orphan
# a running container; and sent SIGTERM when the caller dies.
_sysd_spawn() {
        (
                for d in $SYSD_CGROUPS; do
                        echo "$BASHPID" >"$d/cgroup.procs" || exit 97
                done
                for fd in /proc/"$BASHPID"/fd/*; do
                        fd=${fd##*/}
                        if [ "$fd" -gt 2 ]; then exec {fd}>&-; fi
                done
                read -r stat <"/proc/$BASHPID/stat"
                read -r _ _ pgrp _ <<<"${stat##*) }"
                # setsid forks when run by a group leader, and $! must stay the final process.
                if [ "$pgrp" = "$BASHPID" ]; then
                        exec setpriv --pdeathsig TERM "$@"
                fi
                exec setsid setpriv --pdeathsig TERM "$@"
        ) 3>&- &
}

# The guard backs up the pdeathsig, which alone can leave a container running on: nspawn turns
# SIGTERM into a halt request that systemd drops while it has not installed its handlers yet,
# and a caller killed between fork and setpriv leaves nspawn untied. When the caller dies, the
# guard gives the halt 5 s, then SIGKILLs everything still in our cgroups but itself. It starts
# before nspawn, says so in guard.ready, and idles in a read from a fifo until sysd_down
# writes "stop".
# shellcheck disable=SC2016 # the script expands its own arguments
_SYSD_GUARD_SCRIPT='
caller=$1 cgroup=$2 ready=$3
strays() {
        local p stat ppid
        for p in $(find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null); do
                [ "$p" != "$$" ] || continue
                read -r stat 2>/dev/null <"/proc/$p/stat" || continue
                read -r _ ppid _ <<<"${stat##*) }"
                [ "$ppid" != "$$" ] || continue
                echo "$p"
        done
}
on_caller_gone() {
        local end=$((SECONDS + 5)) pids tries
        while [ "$SECONDS" -lt "$end" ]; do
                [ -n "$(strays)" ] || exit 0
                sleep 0.1
        done
        for ((tries = 0; tries < 10; tries++)); do
                pids=$(strays)
                [ -n "$pids" ] || exit 0
                kill -KILL $pids 2>/dev/null
                sleep 0.2
        done
        exit 1
}
trap on_caller_gone TERM
[ "$PPID" = "$caller" ] || on_caller_gone
: >"$ready"
read -r _
'

_sysd_start_guard() {
        local now deadline
        mkfifo "$SYSD_DIR/guard.fifo" || return 1
        _sysd_spawn bash -c "$_SYSD_GUARD_SCRIPT" sysd-guard "$BASHPID" "${SYSD_CGROUPS%% *}" \
                "$SYSD_DIR/guard.ready" <>"$SYSD_DIR/guard.fifo" >/dev/null 2>&1
        export SYSD_GUARD=$!
        _sysd_ms now
        deadline=$((now + 5000))
        until [ -e "$SYSD_DIR/guard.ready" ]; do
                _sysd_ms now
                if ! _sysd_alive "$SYSD_GUARD" || [ "$now" -ge "$deadline" ]; then
                        _sysd_log "guard process did not start"
                        return 1
                fi
                sleep 0.01
        done
}

_sysd_start_nspawn() {
        # The private mount namespace with a tmpfs /run keeps nspawn's /run/systemd/nspawn
        # bookkeeping off the host.
        _sysd_spawn unshare --mount --propagation private /bin/sh -ec '
                        mount -t tmpfs -o mode=755 tmpfs /run
                        exec "$@"' sh \
                systemd-nspawn --quiet --register=no --keep-unit --link-journal=no \
                --resolv-conf=off --timezone=off --console=read-only \
                --setenv=SYSTEMD_COLORS=0 --machine="$SYSD_NAME" --directory="$SYSD_ROOT" \
                --bind-ro=/usr --boot \
                </dev/null >"$SYSD_DIR/console.log" 2>&1
        export SYSD_NSPAWN=$!
}

# Waits for container PID 1, its private bus socket, then `is-system-running --wait`.
_sysd_wait_running() {
        local deadline=$1 now leader="" state left
        while :; do
                leader=$(pgrep -P "$SYSD_NSPAWN" -x systemd) || leader=""
                [ -z "$leader" ] || break
                if ! _sysd_alive "$SYSD_NSPAWN"; then
                        _sysd_log "systemd-nspawn exited during boot"
                        return 1
                fi
                _sysd_ms now
                if [ "$now" -ge "$deadline" ]; then
                        _sysd_log "container PID 1 did not appear"
                        return 1
                fi
                sleep 0.02
        done
        export SYSD_LEADER=$leader
        until [ -S "/proc/$leader/root/run/systemd/private" ]; do
                _sysd_ms now
                if ! _sysd_alive "$leader" || [ "$now" -ge "$deadline" ]; then
                        _sysd_log "systemd in the container never opened its private bus"
                        return 1
                fi
                sleep 0.02
        done
        _sysd_ms now
        left=$(((deadline - now + 999) / 1000))
        [ "$left" -ge 1 ] || left=1
        state=$(timeout "$left" nsenter --target "$leader" --all -- \
                systemctl is-system-running --wait 2>&1) || true
        if [ "$state" != running ]; then
                _sysd_log "container is '${state:-no answer within the boot timeout}', not 'running'"
                sysd_run systemctl --failed --no-pager --no-legend >&2 || true
                return 1
        fi
}

sysd_up() {
        local t0 now rc=0
        _sysd_check_host || return
        if [ -n "${SYSD_NSPAWN:-}" ] || [ -n "${SYSD_DIR:-}" ]; then
                _sysd_log "already up (SYSD_NSPAWN=${SYSD_NSPAWN:-} SYSD_DIR=${SYSD_DIR:-}); call sysd_down first"
                return 2
        fi
        _sysd_ms t0
        sysd_reap_stale
        export SYSD_NAME=$_SYSD_PREFIX-$BASHPID
        _sysd_make_dir && _sysd_make_root && _sysd_make_cgroups && _sysd_start_guard &&
                _sysd_start_nspawn || rc=1
        if [ "$rc" = 0 ]; then
                _sysd_wait_running $((t0 + ${SYSD_BOOT_TIMEOUT:-30} * 1000)) || rc=1
        fi
        if [ "$rc" != 0 ]; then
                if [ -s "${SYSD_DIR:-}/console.log" ]; then
                        _sysd_log "container console:"
                        sed 's/^/  | /' "$SYSD_DIR/console.log" >&2
                fi
                _sysd_log "boot failed, tearing down"
                sysd_down || true
                return 1
        fi
        _sysd_ms now
        export SYSD_BOOT_MS=$((now - t0))
}

# True if $1 is alive and in our cgroups: a pid we saved may have been reaped and reused.
_sysd_is_ours() {
        _sysd_alive "$1" && grep -q "/$SYSD_NAME\(/\|\$\)" "/proc/$1/cgroup" 2>/dev/null
}

_sysd_stop_guard() {
        local pid=$SYSD_GUARD rc=0
        if _sysd_is_ours "$pid"; then
                echo stop 1<>"$SYSD_DIR/guard.fifo" || true
                # shellcheck disable=SC2016 # expanded by eval on every poll
                if ! sysd_wait 2 eval '! _sysd_alive "$pid"'; then
                        _sysd_log "guard $pid did not stop, SIGKILL"
                        kill -KILL "$pid" 2>/dev/null || true
                        rc=1
                fi
        fi
        # Reaps it if it is our child; silently does nothing otherwise.
        wait "$pid" 2>/dev/null || true
        return $rc
}

# The first SIGTERM asks systemd to halt. A second one makes nspawn kill the container outright:
# sent after SYSD_STOP_TIMEOUT, or after 1 s if systemd never reached "running" (a halt request
# that arrives before systemd has installed its handlers is lost). SIGKILL to nspawn is the
# last resort only: it would leave the container running, for sysd_down to kill by cgroup.
_sysd_stop_nspawn() {
        local pid=$SYSD_NSPAWN rc=0 now retry deadline
        if _sysd_is_ours "$pid"; then
                kill -TERM "$pid" 2>/dev/null || true
                _sysd_ms now
                if [ -n "${SYSD_BOOT_MS:-}" ]; then
                        retry=$((now + ${SYSD_STOP_TIMEOUT:-30} * 1000))
                else
                        retry=$((now + 1000))
                fi
                deadline=$((retry + 2000))
                while _sysd_alive "$pid"; do
                        _sysd_ms now
                        if [ "$now" -ge "$deadline" ]; then
                                _sysd_log "systemd-nspawn $pid ignored two SIGTERMs, SIGKILL"
                                kill -KILL "$pid" 2>/dev/null || true
                                rc=1
                                break
                        fi
                        if [ "$now" -ge "$retry" ]; then
                                if [ -n "${SYSD_BOOT_MS:-}" ]; then
                                        _sysd_log "container did not halt within ${SYSD_STOP_TIMEOUT:-30} s, terminating it"
                                        rc=1
                                fi
                                kill -TERM "$pid" 2>/dev/null || true
                                retry=$deadline
                        fi
                        sleep 0.02
                done
        fi
        wait "$pid" 2>/dev/null || true
        return $rc
}

sysd_down() {
        local rc=0 pids p
        if [ -n "${SYSD_GUARD:-}" ]; then
                _sysd_stop_guard || rc=1
        fi
        if [ -n "${SYSD_NSPAWN:-}" ]; then
                _sysd_stop_nspawn || rc=1
        fi
        if [ -n "${SYSD_CGROUPS:-}" ]; then
                # Everything the container ever ran lived below these: they must be empty now.
                # shellcheck disable=SC2086 # paths without whitespace, checked by _sysd_make_cgroups
                pids=$(_sysd_cgroup_pids $SYSD_CGROUPS)
                if [ -n "$pids" ]; then
                        _sysd_log "left behind in $SYSD_NAME cgroups, killing:"
                        for p in $pids; do
                                ps -o pid=,args= -p "$p" >&2 || true
                                kill -KILL "$p" 2>/dev/null || true
                        done
                        # shellcheck disable=SC2016 # expanded by eval on every poll
                        sysd_wait 2 eval '[ -z "$(_sysd_cgroup_pids $SYSD_CGROUPS)" ]' || true
                        rc=1
                fi
                # shellcheck disable=SC2086
                _sysd_remove_cgroups $SYSD_CGROUPS || rc=1
        fi
        if [ -n "${SYSD_DIR:-}" ]; then
                _sysd_remove_dir "$SYSD_DIR" || rc=1
        fi
        _sysd_clear_state
        return $rc
}
