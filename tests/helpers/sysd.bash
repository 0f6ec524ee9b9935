# tests/helpers/sysd.bash - boot a real systemd manager for end-to-end tests.
#
# The host's own systemd runs as PID 1 of a throw-away systemd-nspawn container whose root is
# a skeleton directory: the host's /usr bind-mounted read-only and a tiny generated /etc, so
# no host service is enabled inside and nothing is downloaded. The container shares the host
# network: ListenStream=127.0.0.1:PORT inside is 127.0.0.1:PORT on the host.
#
# Use from Bats (load '../helpers/sysd') or from plain bash (source it). Needs root, systemd,
# systemd-container, util-linux (nsenter, setpriv, unshare, findmnt) and procps (pgrep).
#
#   sysd_up            boot; exports SYSD_NSPAWN SYSD_LEADER SYSD_ROOT SYSD_UNITDIR (and
#                      SYSD_DIR SYSD_NAME SYSD_CGROUPS SYSD_BOOT_MS); 0 = running, 1 = failed
#                      (already cleaned up, reason on stderr), 2 = already up / not root / a
#                      tool is missing
#   sysd_run CMD...    run CMD inside the container; returns CMD's status
#   sysd_down          halt, verify nothing is left in our cgroups, remove cgroups and SYSD_DIR;
#                      0 = clean, 1 = something had to be killed or could not be removed
#   sysd_reap_stale    remove empty cgroups/dirs of earlier runs whose creator is gone
#   sysd_wait SECS CMD...   poll CMD (every 50 ms) until it succeeds; 1 on timeout
#   sysd_port_open PORT     0 if something accepts on 127.0.0.1:PORT
#   sysd_free_port          print a port in 20000-32767 nobody listens on
#
# Settings: SYSD_BASE (base directory, must be absent or empty; default mktemp -d under
# /tmp), SYSD_BOOT_TIMEOUT (default 10 s), SYSD_STOP_TIMEOUT (default 10 s).
#
# sysd_up ties the container to the calling shell (setpriv --pdeathsig TERM): call sysd_up and
# sysd_down from the same long-lived process (Bats: setup_file/teardown_file), never from a
# $(...) or ( ... ) subshell, or the container halts as soon as that subshell exits.
#
# Every function works under Bats' `set -eET` and without it: failures are returned, not
# raised.

_SYSD_PREFIX=echod-sysd
_SYSD_MARKER=.echod-sysd

_sysd_log() {
	printf 'sysd: %s\n' "$*" >&2
}

_sysd_now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

# A zombie counts as gone: a halted nspawn can stay one for seconds when an init reaps slowly.
_sysd_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Prints "ID PATH" for the hierarchy mounted at $1: its id in /proc/self/cgroup (0 for cgroup2)
# and this process's cgroup path inside it ("" for the root).
_sysd_own_cgroup() {
	local mnt=$1 opts id ctrl path ok c
	local -a ctrls
	if [ "$(findmnt -rn -o FSTYPE "$mnt")" = cgroup2 ]; then
		path=$(sed -n 's/^0:://p' /proc/self/cgroup)
		echo "0 ${path%/}"
		return 0
	fi
	opts=",$(findmnt -rn -o OPTIONS "$mnt"),"
	while IFS=: read -r id ctrl path; do
		[ -n "$ctrl" ] || continue
		IFS=, read -ra ctrls <<<"$ctrl"
		ok=1
		for c in "${ctrls[@]}"; do
			case $opts in *",$c,"*) ;; *) ok=0 ;; esac
		done
		if [ "$ok" = 1 ]; then
			echo "$id ${path%/}"
			return 0
		fi
	done </proc/self/cgroup
	return 1
}

# Prints, one per line, this process's cgroup directory in every mounted hierarchy but cpuset
# (a new v1 cpuset group takes no task until cpus and mems are set). A hierarchy mounted twice
# is listed once.
_sysd_own_cgroup_dirs() {
	local mnt fstype opts id path seen=" "
	while read -r mnt fstype opts; do
		if [ "$fstype" = cgroup ]; then
			case ",$opts," in *,cpuset,*) continue ;; esac
		fi
		read -r id path < <(_sysd_own_cgroup "$mnt") || continue
		case $seen in *" $id "*) continue ;; esac
		seen="$seen$id "
		[ -d "$mnt$path" ] || continue
		echo "$mnt$path"
	done < <(findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,OPTIONS)
}

# Prints the pids in the cgroup trees given as arguments.
_sysd_cgroup_pids() {
	local d
	for d in "$@"; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true
	done | sort -un
}

# Removes cgroup trees, deepest first; a just-exited task can keep one busy for a moment.
_sysd_remove_cgroups() {
	local d deadline rc=0
	deadline=$(($(_sysd_now_ms) + 2000))
	for d in "$@"; do
		while [ -d "$d" ]; do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null && break
			if [ "$(_sysd_now_ms)" -ge "$deadline" ]; then
				_sysd_log "cannot remove cgroup $d"
				rc=1
				break
			fi
			sleep 0.05
		done
	done
	return $rc
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
	unset SYSD_NSPAWN SYSD_LEADER SYSD_ROOT SYSD_UNITDIR SYSD_DIR SYSD_NAME SYSD_CGROUPS \
		SYSD_BOOT_MS
}

sysd_wait() {
	local secs=$1 deadline
	shift
	deadline=$(($(_sysd_now_ms) + secs * 1000))
	until "$@"; do
		[ "$(_sysd_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

sysd_port_open() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	exec {fd}>&-
} 2>/dev/null

sysd_free_port() {
	local port tries
	for ((tries = 0; tries < 50; tries++)); do
		port=$((20000 + RANDOM % 12768))
		if ! sysd_port_open "$port"; then
			echo "$port"
			return 0
		fi
	done
	_sysd_log "no free port found in 20000-32767"
	return 1
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
	local -a parents
	mapfile -t parents < <(_sysd_own_cgroup_dirs)
	for parent in "${parents[@]}"; do
		for d in "$parent/$_SYSD_PREFIX"-*; do
			[ -d "$d" ] || continue
			pid=${d##*-}
			case $pid in '' | *[!0-9]*) continue ;; esac
			if kill -0 "$pid" 2>/dev/null; then continue; fi
			# Never touch a live container, even one whose creator is gone.
			[ -z "$(_sysd_cgroup_pids "$d")" ] || continue
			_sysd_remove_cgroups "$d" || true
		done
	done
	for dir in /tmp/"$_SYSD_PREFIX".* ${SYSD_BASE:+"$SYSD_BASE"}; do
		[ -f "$dir/$_SYSD_MARKER" ] || continue
		pid=$(cat "$dir/$_SYSD_MARKER" 2>/dev/null) || continue
		case $pid in '' | *[!0-9]*) continue ;; esac
		if kill -0 "$pid" 2>/dev/null; then continue; fi
		# A cgroup still there holds a container that is still halting.
		for parent in "${parents[@]}"; do
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
	for tool in systemd-nspawn nsenter setpriv unshare findmnt pgrep; do
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
	local root=$SYSD_DIR/root units=$SYSD_DIR/root/etc/systemd/system l f
	mkdir -p "$root"/{usr,etc,var,tmp,root,run,proc,sys,dev,opt} "$units" || return 1
	for l in bin sbin lib lib64; do
		if [ -e "/usr/$l" ]; then ln -s "usr/$l" "$root/$l" || return 1; fi
	done
	for f in passwd group nsswitch.conf ld.so.cache; do
		if [ -e "/etc/$f" ]; then cp "/etc/$f" "$root/etc/" || return 1; fi
	done
	cp /usr/lib/os-release "$root/etc/os-release" || return 1
	# Present and valid, so systemd does not take this for a first boot and preset every unit.
	tr -d - </proc/sys/kernel/random/uuid >"$root/etc/machine-id" || return 1
	echo "$SYSD_NAME" >"$root/etc/hostname" || return 1
	# Skips the ldconfig/sysusers/journal-catalog "needs update" units.
	touch "$root/etc/.updated" "$root/var/.updated" || return 1
	cat >"$units/sysd-test.target" <<-'EOF' || return 1
		[Unit]
		Description=Minimal boot target for echod end-to-end tests
		Requires=basic.target
		After=basic.target
	EOF
	ln -s sysd-test.target "$units/default.target" || return 1
	export SYSD_ROOT=$root SYSD_UNITDIR=$units
}

_sysd_make_cgroups() {
	local parent dirs=""
	while read -r parent; do
		if ! mkdir "$parent/$SYSD_NAME"; then
			SYSD_CGROUPS=${dirs# }
			return 1
		fi
		dirs="$dirs $parent/$SYSD_NAME"
	done < <(_sysd_own_cgroup_dirs)
	export SYSD_CGROUPS=${dirs# }
	if [ -z "$SYSD_CGROUPS" ]; then
		_sysd_log "no cgroup hierarchy mounted"
		return 1
	fi
}

# The subshell joins our cgroups and then becomes nspawn, so nspawn and everything the
# container ever runs stays below them. It keeps no descriptor of the caller's beyond stdio: a
# pipe held open (Bats' fd 3, a formatter's) would make the caller wait for the container.
# The private mount namespace with a tmpfs /run keeps nspawn's /run/systemd/nspawn
# bookkeeping off the host.
_sysd_start_nspawn() {
	(
		for d in $SYSD_CGROUPS; do
			echo "$BASHPID" >"$d/cgroup.procs" || exit 97
		done
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			if [ "$fd" -gt 2 ]; then exec {fd}>&-; fi
		done
		exec setpriv --pdeathsig TERM \
			unshare --mount --propagation private /bin/sh -ec '
				mount -t tmpfs -o mode=755 tmpfs /run
				exec "$@"' sh \
			systemd-nspawn --quiet --register=no --keep-unit --link-journal=no \
			--resolv-conf=off --timezone=off --console=read-only \
			--setenv=SYSTEMD_COLORS=0 --machine="$SYSD_NAME" --directory="$SYSD_ROOT" \
			--bind-ro=/usr --boot
	) </dev/null >"$SYSD_DIR/console.log" 2>&1 3>&- &
	export SYSD_NSPAWN=$!
}

# Waits for container PID 1, its private bus socket, then `is-system-running --wait`.
_sysd_wait_running() {
	local deadline=$1 leader="" state left
	while [ -z "$leader" ]; do
		leader=$(pgrep -P "$SYSD_NSPAWN" -x systemd) || leader=""
		[ -z "$leader" ] || break
		if ! _sysd_alive "$SYSD_NSPAWN"; then
			_sysd_log "systemd-nspawn exited during boot"
			return 1
		fi
		if [ "$(_sysd_now_ms)" -ge "$deadline" ]; then
			_sysd_log "container PID 1 did not appear"
			return 1
		fi
		sleep 0.02
	done
	export SYSD_LEADER=$leader
	until [ -S "/proc/$leader/root/run/systemd/private" ]; do
		if ! _sysd_alive "$leader" || [ "$(_sysd_now_ms)" -ge "$deadline" ]; then
			_sysd_log "systemd in the container never opened its private bus"
			return 1
		fi
		sleep 0.02
	done
	left=$(((deadline - $(_sysd_now_ms) + 999) / 1000))
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
	local t0 rc
	_sysd_check_host || return
	if [ -n "${SYSD_NSPAWN:-}" ] || [ -n "${SYSD_DIR:-}" ]; then
		_sysd_log "already up (SYSD_NSPAWN=${SYSD_NSPAWN:-} SYSD_DIR=${SYSD_DIR:-}); call sysd_down first"
		return 2
	fi
	t0=$(_sysd_now_ms)
	sysd_reap_stale
	export SYSD_NAME=$_SYSD_PREFIX-$BASHPID
	rc=0
	_sysd_make_dir && _sysd_make_root && _sysd_make_cgroups || rc=1
	if [ "$rc" = 0 ]; then
		_sysd_start_nspawn
		_sysd_wait_running $((t0 + ${SYSD_BOOT_TIMEOUT:-10} * 1000)) || rc=1
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
	export SYSD_BOOT_MS=$(($(_sysd_now_ms) - t0))
}

# nspawn turns SIGTERM into a halt request to the container's PID 1, which the kernel drops
# while systemd has not yet installed its handlers: repeat it every second until nspawn exits.
_sysd_stop_nspawn() {
	local pid=$SYSD_NSPAWN rc=0 now next=0 deadline
	# The pid may have been reaped and reused: only signal it while it is in our cgroup.
	if _sysd_alive "$pid" && grep -q "/$SYSD_NAME\(/\|\$\)" "/proc/$pid/cgroup" 2>/dev/null; then
		deadline=$(($(_sysd_now_ms) + ${SYSD_STOP_TIMEOUT:-10} * 1000))
		while _sysd_alive "$pid"; do
			now=$(_sysd_now_ms)
			if [ "$now" -ge "$deadline" ]; then
				_sysd_log "systemd-nspawn $pid did not exit within ${SYSD_STOP_TIMEOUT:-10} s, SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
				rc=1
				break
			fi
			if [ "$now" -ge "$next" ]; then
				kill -TERM "$pid" 2>/dev/null || true
				next=$((now + 1000))
			fi
			sleep 0.02
		done
	fi
	# Reaps it if it is our child; silently does nothing otherwise.
	wait "$pid" 2>/dev/null || true
	return $rc
}

sysd_down() {
	local rc=0 pids p
	if [ -n "${SYSD_NSPAWN:-}" ]; then
		_sysd_stop_nspawn || rc=1
	fi
	if [ -n "${SYSD_CGROUPS:-}" ]; then
		# shellcheck disable=SC2086 # a list of paths without spaces
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
