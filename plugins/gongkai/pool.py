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
exception it raised.
"""
from __future__ import annotations

import multiprocessing
import pickle
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


class Zygote:
    """A process forked now, from which the unit workers are forked later (``map``)."""

    def __init__(self, warm: Callable[[], None] | None = None):
        """``warm``: run in the zygote while the build's process does the pre-pass (on
        another core): what every unit worker would otherwise set up for itself."""
        import numpy  # noqa: F401 - the search index's, ~0.3 s: imported once here too
        import pelican  # noqa: F401 - imported once here, inherited by every unit worker

        ctx = multiprocessing.get_context("fork")
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(theirs, self.conn, warm), name="gongkai-units")
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
        try:
            self.conn.send((fn, workers, window, initializer, initargs, spool))
            for _ in range(window):
                self.conn.send(next(jobs, None))
            while True:
                kind, value = self.conn.recv()
                if kind == "result":
                    self.conn.send(next(jobs, None))   # one message for every result: the next job, or none
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        except EOFError:
            raise RuntimeError("构建进程意外退出 (the unit workers' process exited unexpectedly)") from None
        finally:
            self.close()

    def close(self) -> None:
        """Stop the zygote (once its pool has finished, or at once when it is unused)."""
        self._final()


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


def _serve(conn, parents_end, warm: Callable[[], None] | None = None) -> None:
    """In the zygote: wait for one request, run its pool, send the results back."""
    parents_end.close()
    if warm is not None:
        try:
            warm()
        except Exception:  # noqa: BLE001,S110 - only a head start: a worker meets the same failure and reports it
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
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs)
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
