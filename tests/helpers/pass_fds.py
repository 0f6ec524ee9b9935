"""Runs a program the way a service manager would hand it sockets, with whatever is wrong in
the hand-over that a test asks for: LISTEN_PID is the program's own pid (exec keeps it).

Usage: pass_fds.py [--listen N] [--fds N] [--env NAME=VALUE]... -- PROGRAM ARGS...
  --listen N   put N listening TCP sockets on 127.0.0.1 (kernel-chosen ports) at fds 3, 4, ...
  --fds N      LISTEN_FDS=N (default: the number of sockets); larger than --listen means
               fds that are not open
Other fds (a file or a pipe on fd 3) come from the caller's redirections."""
import os
import socket
import sys


def main():
    args = sys.argv[1:]
    listen, fds, env = 0, None, {}
    while args and args[0] != "--":
        opt, val = args[0], args[1]
        args = args[2:]
        if opt == "--listen":
            listen = int(val)
        elif opt == "--fds":
            fds = val
        elif opt == "--env":
            k, _, v = val.partition("=")
            env[k] = v
        else:
            print(f"pass_fds.py: unknown option {opt}", file=sys.stderr)
            return 2
    prog = args[1:]
    for i in range(listen):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        os.dup2(s.fileno(), 3 + i)  # inheritable by default
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = str(listen) if fds is None else fds
    os.environ.update(env)
    os.execv(prog[0], prog)


sys.exit(main())
