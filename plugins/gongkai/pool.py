"""The unit workers' pool, forked from a small process made before the pre-pass.

A forked worker's resident memory starts with everything its parent holds: forked from
the build's process after the pre-pass, every unit worker carried the province's slim
items and ``Facts`` (at 100,000 items, ~500 MiB of a 674 MiB worker; issue 15, memory
flat in the number of units). So ``build`` forks a ``Zygote`` first, while it holds
little more than its imports; the pool is forked from the zygote when the units are to
be built, and is handed what the workers read of the province: the few cross-unit
settings every unit reads, and with each job the slice of the registry its unit shows
(``build.unit_slices``). Forked, not spawned: the workers run the code (and whatever a
test patched in it) of the build that made them.

The zygote runs one pool: it takes the request from its pipe, sends each result back in
job order, then exits. A failure of the pool (a worker killed) comes back as the
exception it raised. The zygote itself killed (by the OOM killer, by hand) fails the
build with one message, at once: its workers share its end of the pipe, so the parent
watches the zygote's process rather than waiting for an end of file that only comes when
the workers exit; and the workers watch the zygote, and end when it is gone.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import wait
from pathlib import Path

# Seconds to wait for a zygote stopped early, and then for its workers, to exit.
GONE_WAIT = 5.0
# How often a unit worker looks whether its zygote is still there (a worker left
# without it would finish its unit, then wait for jobs forever).
WATCH_EVERY = 0.25
LOST = ("构建失败：单元构建进程意外退出（可能被系统终止，如内存不足），本次构建未完成，输出目录保持上次完整构建的结果 "
        "(build failed: the unit workers' process exited unexpectedly, e.g. killed for lack of memory; "
        "the output keeps its last complete build)")


class Zygote:
    """A process forked now, from which the unit workers are forked later (``map``)."""

    def __init__(self, warm: Callable[[], None] | None = None,
                 tidy: Callable[[Callable[[], bool]], None] | None = None):
        """``warm``: run in the zygote while the build's process does the pre-pass (on
        another core): what every unit worker would otherwise set up for itself.
        ``tidy(stop)``: run after it, until ``stop()`` says the build wants its pool
        (build.sweep_trash: what earlier builds left to remove)."""
        ctx = multiprocessing.get_context("fork")
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(theirs, self.conn, warm, tidy), name="gongkai-units")
        self.process.start()
        theirs.close()
        self._final = weakref.finalize(self, _stop, self.conn, self.process)

    def map(self, fn: Callable[[dict], dict], jobs: Iterable[dict], workers: int, initializer: Callable,
            initargs: tuple, spool: tuple[str, str] | None) -> Iterator[dict]:
        """``fn(job)`` of every job, in order, run by ``workers`` processes forked from the
        zygote. Jobs are handed over a few at a time (``jobs`` may be made as they are
        asked for): neither the zygote nor its workers hold every job."""
        jobs = iter(jobs)
        window = 2 * workers
        finished = False
        try:
            self._send((fn, workers, window, initializer, initargs, spool))
            for _ in range(window):
                self._send(next(jobs, None))
            while True:
                kind, value = self._recv()
                if kind == "result":
                    self._send(next(jobs, None))   # one message for every result: the next job, or none
                    yield value
                elif kind == "error":
                    raise value
                else:
                    finished = True
                    return
        finally:
            if not finished:    # an error, the zygote lost, the build interrupted (interrupt.py)
                self._abort()
            self.close()

    def _send(self, message) -> None:
        try:
            self.conn.send(message)
        except OSError:     # a pipe broken under the send: the zygote is gone
            raise _lost() from None

    def _recv(self):
        """The zygote's next message; never waits for a zygote that is gone (its workers,
        which hold its end of the pipe, may run on for a while)."""
        try:
            if self.conn in wait([self.conn, self.process.sentinel]) or self.conn.poll(0):
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        raise _lost()

    def _abort(self) -> None:
        """Stop the zygote now, and give its workers (which end when it is gone,
        ``_watch``) a few seconds to exit: no worker writes into the partial output after
        the build has removed it, and none outlives the build."""
        if self.process.is_alive():
            self.process.terminate()      # SIGTERM: the default action in the zygote (_serve)
            self.process.join(GONE_WAIT)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        # Every worker holds the zygote's end of the pipe: end of file when the last has gone.
        # Raw reads (what the zygote sent before it went is dropped): a message cut short
        # by the kill must not leave us waiting for its rest.
        deadline = time.monotonic() + GONE_WAIT
        try:
            fd = self.conn.fileno()
            while (left := deadline - time.monotonic()) > 0:
                if select.select([fd], [], [], left)[0] and not os.read(fd, 1 << 16):
                    break
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Stop the zygote (once its pool has finished, or at once when it is unused)."""
        self._final()


def _lost() -> Exception:
    from .build import BuildError   # here: build imports this module
    return BuildError(LOST)


def _stop(conn, process) -> None:
    """Closing our end of the pipe tells a waiting zygote to exit (also at interpreter exit,
    before multiprocessing joins its children: a zygote is never left waiting)."""
    try:
        conn.close()
    except OSError:
        pass
    process.join(timeout=10)
    if process.is_alive():
        process.terminate()
        process.join()


def _serve(conn, parents_end, warm: Callable[[], None] | None = None,
           tidy: Callable[[Callable[[], bool]], None] | None = None) -> None:
    """In the zygote: wait for one request, run its pool, send the results back."""
    parents_end.close()
    # Not the command (interrupt.py): SIGTERM and Ctrl-C end the zygote and its workers
    # quietly; the parent, which gets them too or stops the zygote (_abort), cleans up.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    # Pelican and the search index's library: imported here, on the other core while the
    # parent runs the pre-pass, and inherited by every worker. The build's process never
    # needs them (they were ~0.25 s of a one-item rebuild's critical path).
    import numpy  # noqa: F401
    import pelican  # noqa: F401
    if warm is not None:
        try:
            warm()
        except Exception:  # noqa: BLE001,S110 - only a head start: a worker meets the same failure and reports it
            pass
    if tidy is not None:
        try:
            tidy(conn.poll)     # stops as soon as the parent's request (or its end) is there
        except Exception:  # noqa: BLE001,S110 - housekeeping: whatever is left, the next build tries again
            pass
    try:
        request = conn.recv()
    except (EOFError, OSError):
        return    # the build ended before its units were built (content errors, nothing to build)
    fn, workers, window, initializer, initargs, spool = request
    from . import reader
    from .spool import Spool
    if spool is not None:
        reader.SPOOL[:] = [Spool.attach(Path(spool[0]), spool[1])]
    ctx = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                               initargs=(os.getpid(), initializer, initargs))
    try:
        pending: deque = deque()
        for _ in range(window):
            job = conn.recv()
            if job is not None:
                pending.append(pool.submit(fn, job))
        while pending:
            conn.send(("result", pending.popleft().result()))
            job = conn.recv()
            if job is not None:
                pending.append(pool.submit(fn, job))
        conn.send(("done", None))
    except BaseException as exc:  # noqa: BLE001 - the parent raises it (a worker killed, the parent gone)
        pool.shutdown(wait=True, cancel_futures=True)
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        try:
            conn.send(("error", exc))
        except OSError:
            pass
    else:
        pool.shutdown()


def _start_worker(zygote: int, initializer: Callable | None, initargs: tuple) -> None:
    """In a unit worker: watch the zygote, then the build's own initializer."""
    keep_freed_heap()
    threading.Thread(target=_watch, args=(zygote,), name="gongkai-zygote-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_MMAP = 32 << 20    # blocks below this come from the heap (glibc's largest default on 64-bit)
KEEP_TRIM = 64 << 20    # free heap above this is given back to the system


def keep_freed_heap() -> bool:
    """Let this process reuse the large blocks it frees (glibc; elsewhere nothing is done and
    False is returned). By default glibc maps each block above its (moving) threshold afresh
    and gives the top of the heap back on free, so a unit worker's numpy temporaries (the
    search index: dozens of arrays of 0.1–4 MB a unit) and page strings had every page faulted
    in again, unit after unit: ~10 ms of system CPU a unit in the index alone at 20k/100
    (docs/performance.md, "index" round 2). The worker's peak is its largest unit either way."""
    import ctypes  # noqa: PLC0415 - only workers need it

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_MMAP)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_TRIM))


def _watch(zygote: int) -> None:
    # A worker whose zygote is gone (killed while this worker was busy) is re-parented:
    # it ends at once rather than finish a unit nobody will take, then wait for jobs forever.
    while os.getppid() == zygote:
        time.sleep(WATCH_EVERY)
    os._exit(1)
