"""Run one command; write its wall time, CPU time and peak RSS as JSON (the bench's ``measure``).

Why a process of its own between the bench and what it times: Linux carries a process's
peak RSS across ``exec`` (the high-water mark of the memory it replaces goes into
``ru_maxrss``). A build the bench started itself therefore reported at least the bench's
own peak: after a large corpus 158 MiB for gongkai and Hugo alike, where the build peaked
at 104. Started from this small process (a few MiB, importing nothing but the standard
essentials), a command's ``ru_maxrss`` is its own largest process.

Usage: ``python rusage.py REPORT.json COMMAND [ARG…]``; the exit status is the command's
(a command killed by a signal: 128 + the signal, and ``exit`` in the report is negative).
"""
import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    report, cmd = argv[0], argv[1:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as exc:
            os.write(2, f"rusage.py: {cmd[0]}: {exc.strerror}\n".encode())
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    # ru_maxrss of wait4: the largest of the command and the children it waited for, KiB.
    with open(report, "w", encoding="utf-8") as f:
        json.dump({"wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime,
                   "maxrss_kib": usage.ru_maxrss, "exit": code}, f)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
